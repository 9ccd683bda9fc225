import { SandboxUnavailableError } from '@ferry/sdk-core';
import { createTemporaryDirectory } from '@ferry/sdk-core/testing';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { startServer } from './server';
import { TEST_API_KEY, testClient } from './test-support';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

function startSandboxedServer(dir: string) {
  return startServer({ dataDir: join(dir, 'data'), port: 0, apiKey: TEST_API_KEY, sandbox: true });
}

describe('ferry-server --sandbox', { timeout: 60_000 }, () => {
  it('refuses to start where bwrap is missing, saying how to install it', async () => {
    await using dir = await createTemporaryDirectory();
    const starting = startServer({
      dataDir: dir.path,
      port: 0,
      sandbox: { bwrapPath: join(dir.path, 'missing-bwrap') },
    });
    await expect(starting).rejects.toSatisfy(
      (error) => SandboxUnavailableError.isInstance(error) && error.reason === 'not_installed',
    );
    // Nothing was created: the check runs before the data directory is touched.
    expect(await readdir(dir.path)).toEqual([]);
  });

  it('the CLI exits with the reason when FERRY_SANDBOX is on and bwrap is not on PATH', async () => {
    await using dir = await createTemporaryDirectory();
    const child = spawn(process.execPath, [cli, '--port', '0', '--data-dir', dir.path], {
      env: { PATH: dir.path, FERRY_SANDBOX: 'on' },
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(1);
    expect(stderr).toContain('The sandbox cannot run');
    expect(stderr).toContain('apt-get install bubblewrap');
  });

  it('runs the /bash, /file and /git routes in a sandbox of the conversation folder', async () => {
    await using dir = await createTemporaryDirectory();
    await using server = await startSandboxedServer(dir.path);
    const client = testClient(server);
    await mkdir(join(server.workspaceRoot, 'one'), { recursive: true });
    await mkdir(join(server.workspaceRoot, 'two'), { recursive: true });
    await writeFile(join(server.workspaceRoot, 'two', 'private.txt'), 'two only');
    const ran = await client.request<{ stdout: string | null; exit_code: number }>(
      'POST',
      '/api/bash/execute_bash_command',
      {
        body: {
          command: `ls ${server.workspaceRoot}; ls ${server.dataDir} 2>&1; env`,
          cwd: join(server.workspaceRoot, 'one'),
        },
      },
    );
    expect(ran.status).toBe(200);
    expect(ran.body.stdout).toContain('one\n');
    expect(ran.body.stdout).not.toContain('two');
    expect(ran.body.stdout).not.toContain(TEST_API_KEY);
    // A symlink made inside one conversation's folder leads nowhere from its sandbox.
    await client.request('POST', '/api/bash/execute_bash_command', {
      body: {
        command: `ln -s ../two/private.txt leak.txt`,
        cwd: join(server.workspaceRoot, 'one'),
      },
    });
    const leak = await fetch(
      `${server.url}/api/file/download?path=${encodeURIComponent('one/leak.txt')}`,
      { headers: { 'x-session-api-key': TEST_API_KEY } },
    );
    expect(leak.status).toBe(403);
    const own = await client.request('POST', '/api/bash/execute_bash_command', {
      body: { command: 'echo mine > own.txt', cwd: join(server.workspaceRoot, 'one') },
    });
    expect(own.status).toBe(200);
    const download = await fetch(
      `${server.url}/api/file/download?path=${encodeURIComponent('one/own.txt')}`,
      { headers: { 'x-session-api-key': TEST_API_KEY } },
    );
    expect(await download.text()).toBe('mine\n');
    const changes = await client.request('GET', `/api/git/changes?path=one`);
    expect(changes.status).toBe(200);
  });

  it("browses, creates folders and archives in the conversation folder's sandbox", async () => {
    await using dir = await createTemporaryDirectory();
    await using server = await startSandboxedServer(dir.path);
    const client = testClient(server);
    const one = join(server.workspaceRoot, 'one');
    await mkdir(join(server.workspaceRoot, 'two', 'secret-folder'), { recursive: true });
    await mkdir(join(one, 'src'), { recursive: true });
    const marker = join(dir.path, 'hook-ran-on-the-host');
    // What an agent can leave in its own folder: a link to its neighbour, and a repository
    // whose fsmonitor hook runs whenever git looks at the working tree.
    const planted = await client.request<{ exit_code: number; stderr: string }>(
      'POST',
      '/api/bash/execute_bash_command',
      {
        body: {
          command:
            'ln -s ../two neighbour && git init -q && echo hi > src/a.txt && ' +
            `git config core.fsmonitor 'touch ${marker}; true'`,
          cwd: one,
        },
      },
    );
    expect(planted.body).toMatchObject({ exit_code: 0 });

    const through = await client.request('GET', `/api/file/search_subdirs?path=one/neighbour`);
    expect(through.status).toBe(403);
    const create = await client.request(
      'POST',
      `/api/file/create_directory?path=${encodeURIComponent('one/neighbour/made-by-one')}`,
    );
    expect(create.status).toBe(403);
    expect(await readdir(join(server.workspaceRoot, 'two'))).toEqual(['secret-folder']);
    const archiveThrough = await fetch(
      `${server.url}/api/file/archive?path=one/neighbour&format=tar.gz`,
      { headers: { 'x-session-api-key': TEST_API_KEY } },
    );
    expect(archiveThrough.status).toBe(403);

    const listed = await client.request<{ items: { name: string }[] }>(
      'GET',
      '/api/file/search_subdirs?path=one',
    );
    expect(listed.body.items.map((item) => item.name)).toEqual(['src']);
    const made = await client.request(
      'POST',
      `/api/file/create_directory?path=${encodeURIComponent('one/new/deeper')}`,
    );
    expect(made.status).toBe(200);
    expect(await readdir(join(one, 'new'))).toEqual(['deeper']);

    const patch = await fetch(`${server.url}/api/file/archive?path=one&format=git-delta`, {
      headers: { 'x-session-api-key': TEST_API_KEY },
    });
    expect(patch.status).toBe(200);
    expect(await patch.text()).toContain('+hi');
    const tarball = await fetch(`${server.url}/api/file/archive?path=one&format=tar.gz`, {
      headers: { 'x-session-api-key': TEST_API_KEY },
    });
    expect(tarball.status).toBe(200);
    expect((await tarball.arrayBuffer()).byteLength).toBeGreaterThan(0);
    // git ran in the sandbox: the agent's hook could not touch the host.
    expect(existsSync(marker)).toBe(false);
  });
});
