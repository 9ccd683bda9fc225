import { createTemporaryDirectory } from '@ferry/sdk-core/testing';
import { mkdir, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalWorkspace, PathOutsideWorkspaceError } from './local-workspace';

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
