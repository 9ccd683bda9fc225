import { createTemporaryDirectory } from '@ferry/sdk-core/testing';
import type { TemporaryDirectory } from '@ferry/sdk-core/testing';
import { HttpError, RemoteWorkspace } from '@openhands/typescript-client';
import type { FastifyInstance } from 'fastify';
import { execFile } from 'node:child_process';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bashRoutes } from './bash';
import { fileRoutes } from './file';
import { gitRoutes } from './git';
import { createRoutesApp } from './workspace-test-app';

const run = promisify(execFile);

let root: TemporaryDirectory;
let outside: TemporaryDirectory;
let app: FastifyInstance;
let workspace: RemoteWorkspace;

beforeEach(async () => {
  root = await createTemporaryDirectory();
  outside = await createTemporaryDirectory();
  app = await createRoutesApp({ workspaceRoot: root.path }, bashRoutes, fileRoutes, gitRoutes);
  const url = await app.listen({ host: '127.0.0.1', port: 0 });
  workspace = new RemoteWorkspace({ host: url, workingDir: root.path });
});

afterEach(async () => {
  workspace.close();
  await app.close();
  await root.remove();
  await outside.remove();
});

describe("OpenHands' RemoteWorkspace against the workspace routes", () => {
  it('executes commands, in a cwd, with their exit code and both streams', async () => {
    await mkdir(join(root.path, 'sub'));
    expect(await workspace.executeCommand('echo hi; echo err >&2; exit 2')).toEqual({
      command: 'echo hi; echo err >&2; exit 2',
      exit_code: 2,
      stdout: 'hi\n',
      stderr: 'err\n',
      timeout_occurred: false,
    });
    const inSub = await workspace.executeCommand('pwd', join(root.path, 'sub'), 10);
    expect(inSub.stdout).toBe(`${join(root.path, 'sub')}\n`);
    await expect(workspace.executeCommand('touch ran', outside.path)).rejects.toMatchObject({
      status: 403,
    });
    expect(await readdir(outside.path)).toEqual([]);
  });

  it('uploads and downloads text and bytes', async () => {
    const uploaded = await workspace.fileUpload(
      'hello from the client',
      join(root.path, 'a/b.txt'),
    );
    expect(uploaded.success).toBe(true);
    expect(await readFile(join(root.path, 'a/b.txt'), 'utf8')).toBe('hello from the client');
    expect(await workspace.downloadAsText(join(root.path, 'a/b.txt'))).toBe(
      'hello from the client',
    );

    const bytes = Uint8Array.from({ length: 256 }, (_, index) => index);
    await workspace.fileUpload(new Blob([bytes]), join(root.path, 'bytes.bin'));
    expect((await readFile(join(root.path, 'bytes.bin'))).equals(bytes)).toBe(true);

    await expect(workspace.fileUpload('x', join(outside.path, 'x.txt'))).rejects.toMatchObject({
      status: 403,
    });
    await expect(workspace.fileDownload(join(root.path, 'missing.txt'))).rejects.toMatchObject({
      status: 404,
    });
    expect(await readdir(outside.path)).toEqual([]);
  });

  it('lists git changes and diffs', async () => {
    const repository = join(root.path, 'repo');
    await mkdir(repository);
    const git = (...args: string[]) =>
      run('git', ['-c', 'user.email=t@t', '-c', 'user.name=t', ...args], { cwd: repository });
    await git('init', '-q');
    await writeFile(join(repository, 'file.txt'), 'one\n');
    await git('add', '.');
    await git('commit', '-q', '-m', 'one');
    await writeFile(join(repository, 'file.txt'), 'two\n');
    await writeFile(join(repository, 'new.txt'), 'new\n');

    expect(await workspace.gitChanges(repository)).toEqual([
      { status: 'UPDATED', path: 'file.txt' },
      { status: 'ADDED', path: 'new.txt' },
    ]);
    expect(await workspace.gitChanges(repository, { ref: 'HEAD' })).toHaveLength(2);
    expect(await workspace.gitDiff(join(repository, 'file.txt'))).toEqual({
      original: 'one\n',
      modified: 'two\n',
    });
    await expect(workspace.gitChanges(outside.path)).rejects.toThrow(/403/);
  });

  it("drives every route of OpenHands' BashClient", async () => {
    const bash = workspace.bash;
    const command = await bash.startCommand('echo started; echo warn >&2; exit 5', root.path, 30);
    expect(command).toMatchObject({ kind: 'BashCommand', cwd: root.path, timeout: 30 });

    const deadline = Date.now() + 30_000;
    let finished = false;
    while (!finished && Date.now() < deadline) {
      const page = await bash.searchEvents({ command_id__eq: command.id });
      finished = page.items.some((event) => 'exit_code' in event && event.exit_code !== null);
      if (!finished) await yieldToEventLoop();
    }
    expect(finished).toBe(true);

    const outputs = await bash.searchEvents({ kind__eq: 'BashOutput', command_id__eq: command.id });
    const last = outputs.items.at(-1);
    expect(last).toMatchObject({ exit_code: 5 });
    const ids = [command.id, last?.id ?? '', 'unknown'];
    expect(await bash.getEvent(command.id)).toEqual(command);
    expect(await bash.getEvents(ids)).toEqual([command, last, null]);
    expect(await bash.batchGetEvents(ids)).toEqual([command, last, null]);
    await expect(bash.getEvent('unknown')).rejects.toBeInstanceOf(HttpError);

    const executed = await bash.executeCommand({ command: 'printf done' });
    expect(executed).toMatchObject({ kind: 'BashOutput', exit_code: 0, stdout: 'done' });

    expect(await bash.clearEvents()).toEqual({ cleared_count: outputs.items.length + 3 });
    expect((await bash.searchEvents()).items).toEqual([]);
  });
});
