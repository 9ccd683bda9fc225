import { SandboxUnavailableError } from '@ferry/sdk-core';
import { createTemporaryDirectory } from '@ferry/sdk-core/testing';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LocalWorkspace } from './local-workspace';

describe('LocalWorkspace sandbox: where bwrap cannot run', () => {
  it('fails at once, saying how to install bubblewrap, when bwrap is missing', async () => {
    await using dir = await createTemporaryDirectory();
    const create = () =>
      new LocalWorkspace({
        workingDir: dir.path,
        sandbox: { bwrapPath: join(dir.path, 'no-such-bwrap') },
      });
    expect(create).toThrow(SandboxUnavailableError);
    expect(create).toThrow(/apt-get install bubblewrap/);
    try {
      create();
    } catch (error) {
      expect(error).toMatchObject({ code: 'SANDBOX_UNAVAILABLE', reason: 'not_installed' });
    }
  });

  it('fails at once, naming the sysctl, when bwrap cannot create namespaces', async () => {
    await using dir = await createTemporaryDirectory();
    const fake = join(dir.path, 'bwrap');
    await writeFile(
      fake,
      '#!/bin/sh\necho "bwrap: No permissions to creating new namespace, likely because the kernel does not allow non-privileged user namespaces." >&2\nexit 1\n',
    );
    await chmod(fake, 0o755);
    const create = () => new LocalWorkspace({ workingDir: dir.path, sandbox: { bwrapPath: fake } });
    expect(create).toThrow(/kernel\.unprivileged_userns_clone=1/);
    try {
      create();
    } catch (error) {
      expect(SandboxUnavailableError.isInstance(error)).toBe(true);
      expect(error).toMatchObject({ reason: 'namespaces_unavailable' });
    }
  });
});

describe('LocalWorkspace sandbox: confinement', { timeout: 60_000 }, () => {
  it('gives commands only the workspace env, never the server process environment', async () => {
    await using dir = await createTemporaryDirectory();
    process.env.FERRY_SANDBOX_TEST_SECRET = 'server-only-value';
    try {
      await using workspace = new LocalWorkspace({
        workingDir: dir.path,
        env: { GIVEN: 'to-the-agent' },
        sandbox: true,
      });
      const result = await workspace.executeCommand('env', { env: { PER_COMMAND: 'yes' } });
      expect(result.stdout).toContain('GIVEN=to-the-agent');
      expect(result.stdout).toContain('PER_COMMAND=yes');
      expect(result.stdout).toContain('HOME=/tmp');
      expect(result.stdout).not.toContain('server-only-value');
      await using shell = await workspace.openShell();
      const inShell = await shell.run('env; cat /proc/*/environ 2>/dev/null | tr "\\0" "\\n"');
      expect(inShell.output).toContain('GIVEN=to-the-agent');
      expect(inShell.output).not.toContain('server-only-value');
    } finally {
      delete process.env.FERRY_SANDBOX_TEST_SECRET;
    }
  });

  it('sees nothing of the host filesystem but the system folders, read-only', async () => {
    await using outside = await createTemporaryDirectory();
    await using dir = await createTemporaryDirectory();
    await writeFile(join(outside.path, 'secret.txt'), 'host secret');
    await using workspace = new LocalWorkspace({
      workingDir: join(dir.path, 'work'),
      sandbox: true,
    });
    const read = await workspace.executeCommand(`cat ${outside.path}/secret.txt; ls ${dir.path}`);
    expect(read.stdout).toBe('work\n');
    expect(read.stderr).toContain('No such file or directory');
    const write = await workspace.executeCommand('touch /usr/evil /etc/evil /evil');
    expect(write.exit_code).not.toBe(0);
    expect(write.stderr).toContain('Read-only file system');
    const shadow = await workspace.executeCommand('cat /etc/shadow /etc/gshadow');
    expect(shadow.stdout).not.toContain('root:');
    // An escape through a symlink the agent made leads nowhere inside the sandbox either.
    await workspace.executeCommand(`ln -s ${outside.path} escape`);
    expect((await workspace.executeCommand('cat escape/secret.txt')).stdout).toBe('');
    expect(await readFile(join(outside.path, 'secret.txt'), 'utf8')).toBe('host secret');
  });

  it('has its own process tree: the server process cannot be seen or signalled', async () => {
    await using dir = await createTemporaryDirectory();
    await using workspace = new LocalWorkspace({ workingDir: dir.path, sandbox: true });
    const result = await workspace.executeCommand(
      `kill -0 ${process.pid} && echo reached; ls /proc | grep -c '^[0-9]'`,
    );
    expect(result.stdout).not.toContain('reached');
    expect(Number(result.stdout.trim())).toBeLessThan(10);
  });

  it('runs git inside the sandbox, so a hook the agent planted cannot reach the host', async () => {
    await using outside = await createTemporaryDirectory();
    await using dir = await createTemporaryDirectory();
    await using workspace = new LocalWorkspace({ workingDir: dir.path, sandbox: true });
    const marker = join(outside.path, 'pwned');
    const setup = await workspace.executeCommand(
      `git init -q repo && cd repo && git config core.fsmonitor 'touch ${marker}; false' && echo x > f`,
    );
    expect(setup.exit_code).toBe(0);
    expect(await workspace.gitChanges('repo')).toEqual([{ status: 'ADDED', path: 'f' }]);
    await expect(readFile(marker)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('mounts extra folders read-only or read-write', async () => {
    await using shared = await createTemporaryDirectory();
    await using out = await createTemporaryDirectory();
    await using dir = await createTemporaryDirectory();
    await writeFile(join(shared.path, 'data.txt'), 'shared');
    await using workspace = new LocalWorkspace({
      workingDir: dir.path,
      sandbox: { readOnly: [shared.path], readWrite: [out.path] },
    });
    const result = await workspace.executeCommand(
      `cat ${shared.path}/data.txt; echo; touch ${shared.path}/no 2>&1 | grep -c Read-only; echo done > ${out.path}/out.txt`,
    );
    expect(result.stdout).toBe('shared\n1\n');
    expect(await readFile(join(out.path, 'out.txt'), 'utf8')).toBe('done\n');
  });

  it('bounds /tmp and the number of processes', async () => {
    await using dir = await createTemporaryDirectory();
    await using workspace = new LocalWorkspace({
      workingDir: dir.path,
      sandbox: { tmpSize: 1024 * 1024, maxProcesses: 20 },
    });
    const fill = await workspace.executeCommand('head -c 4000000 /dev/zero > /tmp/fill');
    expect(fill.stderr).toContain('No space left on device');
    const bomb = await workspace.executeCommand(
      'for i in $(seq 60); do sleep 5 & done 2>&1 | grep -c "fork" ; true',
      { timeout: 60 },
    );
    expect(Number(bomb.stdout.trim())).toBeGreaterThan(0);
  });

  it('turns the network off', async () => {
    const server = createServer((socket) => socket.end('hello\n'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address !== null ? address.port : 0;
    try {
      await using dir = await createTemporaryDirectory();
      const probe = `cat < /dev/tcp/127.0.0.1/${port}`;
      await using online = new LocalWorkspace({ workingDir: dir.path, sandbox: true });
      expect((await online.executeCommand(probe)).stdout).toBe('hello\n');
      await using offline = new LocalWorkspace({
        workingDir: dir.path,
        sandbox: { network: false },
      });
      const refused = await offline.executeCommand(probe);
      expect(refused.stdout).toBe('');
      expect(refused.exit_code).not.toBe(0);
    } finally {
      server.close();
    }
  });

  it('keeps file operations inside the sandbox, with the same errors', async () => {
    await using dir = await createTemporaryDirectory();
    await mkdir(join(dir.path, 'work'));
    await using workspace = new LocalWorkspace({
      workingDir: join(dir.path, 'work'),
      sandbox: true,
    });
    await workspace.writeFile('a/b.txt', 'text');
    expect(await readFile(join(dir.path, 'work/a/b.txt'), 'utf8')).toBe('text');
    await expect(workspace.writeFile('a/b.txt/c', 'x')).rejects.toMatchObject({
      reason: 'not_a_directory',
    });
    await expect(workspace.listFiles('a/b.txt')).rejects.toMatchObject({
      reason: 'not_a_directory',
    });
    await expect(workspace.readFile('a')).rejects.toMatchObject({ reason: 'is_a_directory' });
  });
});

describe('LocalWorkspace sandbox: options', () => {
  it('refuses a mount that does not exist when it is created', async () => {
    await using dir = await createTemporaryDirectory();
    const create = () =>
      new LocalWorkspace({
        workingDir: dir.path,
        sandbox: { readOnly: [join(dir.path, 'missing')] },
      });
    expect(create).toThrow(SandboxUnavailableError);
    expect(create).toThrow(/does not exist/);
  });
});
