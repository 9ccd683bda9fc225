import { createTemporaryDirectory } from '@ferry/sdk-core/testing';
import { mkdir, realpath, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PathOutsideWorkspaceError, ShellSessionError } from '@ferry/sdk-core';
import { LocalWorkspace } from './local-workspace';

describe('LocalWorkspace.resolvePath', () => {
  it('resolves relative paths against the working directory, existing or not', async () => {
    await using dir = await createTemporaryDirectory();
    const workspace = new LocalWorkspace({ workingDir: dir.path });
    expect(await workspace.resolvePath('src/new-file.ts')).toBe(join(dir.path, 'src/new-file.ts'));
  });

  it('refuses a path that climbs out with ..', async () => {
    await using dir = await createTemporaryDirectory();
    const workspace = new LocalWorkspace({ workingDir: join(dir.path, 'project') });
    await expect(workspace.resolvePath('../secret.txt')).rejects.toThrow(PathOutsideWorkspaceError);
    await expect(workspace.resolvePath('../secret.txt')).rejects.toThrow(/outside the workspace/);
  });

  it('refuses a symlink that points outside', async () => {
    await using outside = await createTemporaryDirectory();
    await using dir = await createTemporaryDirectory();
    await symlink(outside.path, join(dir.path, 'escape'));
    const workspace = new LocalWorkspace({ workingDir: dir.path });
    await expect(workspace.resolvePath('escape/passwd')).rejects.toThrow(PathOutsideWorkspaceError);
  });

  it('accepts extra allowed roots', async () => {
    await using other = await createTemporaryDirectory();
    await using dir = await createTemporaryDirectory();
    await mkdir(join(other.path, 'data'));
    const workspace = new LocalWorkspace({ workingDir: dir.path, allowedRoots: [other.path] });
    expect(await workspace.resolvePath(join(other.path, 'data'))).toBe(join(other.path, 'data'));
  });
});

describe('LocalWorkspace', () => {
  it('creates its working directory on first use and describes itself', async () => {
    await using dir = await createTemporaryDirectory();
    await using workspace = new LocalWorkspace({ workingDir: join(dir.path, 'new', 'work') });
    expect(workspace.toDescriptor()).toEqual({
      kind: 'LocalWorkspace',
      working_dir: join(dir.path, 'new', 'work'),
    });
    const result = await workspace.executeCommand('pwd -P');
    expect(result.stdout.trim()).toBe(await realpath(join(dir.path, 'new', 'work')));
  });

  it('adds its env option to commands and shell sessions', async () => {
    await using dir = await createTemporaryDirectory();
    await using workspace = new LocalWorkspace({
      workingDir: dir.path,
      env: { FERRY_OPTION: 'on' },
    });
    expect((await workspace.executeCommand('echo "$FERRY_OPTION"')).stdout).toBe('on\n');
    const shell = await workspace.openShell();
    expect((await shell.run('echo "$FERRY_OPTION"')).output).toBe('on\n');
  });

  it('closes its shell sessions when it closes', async () => {
    await using dir = await createTemporaryDirectory();
    const workspace = new LocalWorkspace({ workingDir: dir.path });
    const shell = await workspace.openShell({ id: 'main' });
    await workspace.close();
    await expect(shell.run('echo hi')).rejects.toSatisfy(
      (error) => ShellSessionError.isInstance(error) && error.reason === 'closed',
    );
    expect(await workspace.openShell({ id: 'main' })).not.toBe(shell);
    await workspace.close();
  });
});

describe('LocalShellSession interrupts', { timeout: 30_000 }, () => {
  it('stops a command that ignores SIGINT with SIGTERM and keeps the shell', async () => {
    await using dir = await createTemporaryDirectory();
    await using workspace = new LocalWorkspace({ workingDir: dir.path });
    await using shell = await workspace.openShell();
    await shell.run('cd / && export FERRY_KEPT=1');
    const stubborn = await shell.run("trap '' INT; sleep 100", { timeout: 1 });
    expect(stubborn.timeout_occurred).toBe(true);
    expect(stubborn.output).not.toContain('The shell exited');
    const next = await shell.run('echo "$FERRY_KEPT"; pwd');
    expect(next.output).toBe('1\n/\n');
  });

  it('kills and restarts the shell when the command ignores SIGINT and SIGTERM', async () => {
    await using dir = await createTemporaryDirectory();
    await using workspace = new LocalWorkspace({ workingDir: dir.path });
    await using shell = await workspace.openShell();
    await shell.run('cd /');
    const stubborn = await shell.run("trap '' INT TERM; sleep 100", { timeout: 1 });
    expect(stubborn.timeout_occurred).toBe(true);
    expect(stubborn.output).toContain('The shell exited');
    const next = await shell.run('echo fresh');
    expect(next).toMatchObject({ output: 'fresh\n', working_dir: dir.path });
  });
});
