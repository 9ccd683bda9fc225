import { readFile as readLocalFile, writeFile as writeLocalFile } from 'node:fs/promises';
import { join as joinLocal } from 'node:path';
import { posix } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PathOutsideWorkspaceError } from '../../errors/path-outside-workspace-error';
import { ShellSessionError } from '../../errors/shell-session-error';
import { WorkspaceFileError } from '../../errors/workspace-file-error';
import { WorkspaceGitError } from '../../errors/workspace-git-error';
import { commandResultSchema } from '../../workspace/command-result';
import { fileEntrySchema } from '../../workspace/file-entry';
import type { OutputChunk } from '../../workspace/output-chunk';
import { shellRunResultSchema } from '../../workspace/shell-session';
import type { Workspace } from '../../workspace/workspace';
import type { WorkspaceCapabilities } from '../../workspace/workspace-capabilities';
import { workspaceDescriptorSchema } from '../../workspace/workspace-descriptor';
import { createTemporaryDirectory } from '../temporary-directory';

/** A workspace made for the conformance suite, and how to dispose of it. */
export interface ConformanceWorkspace {
  /** A workspace whose working directory is empty and whose parent folder is writable. */
  workspace: Workspace;
  /** Closes the workspace and removes what `create` made. */
  cleanup: () => Promise<void>;
}

/** Options of {@link describeWorkspaceConformance}. */
export interface WorkspaceConformanceOptions {
  /** Names the implementation in the test report, e.g. `'LocalWorkspace'`. */
  name: string;
  /** Makes a fresh workspace; called once per group of tests. */
  create: () => Promise<ConformanceWorkspace>;
  /** What the implementation supports; tests of what it lacks are skipped. */
  capabilities: WorkspaceCapabilities;
  /** Milliseconds each test (and each setup) may take; 60 000 when absent. */
  timeout?: number;
}

/**
 * Registers vitest tests that every `Workspace` implementation must pass: commands, exit
 * codes, output streams, timeouts, environment, shell sessions, files (unicode, binary, large),
 * path confinement and git. Call it at the top level of a test file:
 *
 * ```ts
 * describeWorkspaceConformance({
 *   name: 'LocalWorkspace',
 *   capabilities: { shellSessions: true, shellInput: true, symlinks: true, git: true },
 *   create: async () => {
 *     const dir = await createTemporaryDirectory();
 *     const workspace = new LocalWorkspace({ workingDir: `${dir.path}/work` });
 *     return { workspace, cleanup: async () => { await workspace.close(); await dir.remove(); } };
 *   },
 * });
 * ```
 *
 * The suite sets up its fixtures through the workspace itself (`executeCommand`, `writeFile`),
 * so it runs unchanged against a workspace on another machine. It needs `bash` and coreutils
 * there, and `git` when `capabilities.git` is set.
 */
export function describeWorkspaceConformance(options: WorkspaceConformanceOptions): void {
  const { capabilities } = options;
  const timeout = options.timeout ?? 60_000;

  /** Registers a group of tests sharing one workspace. */
  function group(title: string, skip: boolean, body: (get: () => Workspace) => void): void {
    describe.skipIf(skip)(title, { timeout }, () => {
      let made: ConformanceWorkspace | undefined;
      beforeAll(async () => {
        made = await options.create();
      }, timeout);
      afterAll(async () => {
        await made?.cleanup();
      }, timeout);
      body(() => {
        if (made === undefined) throw new Error('The workspace was not created.');
        return made.workspace;
      });
    });
  }

  describe(`Workspace conformance: ${options.name}`, () => {
    group('identity', false, (get) => {
      it('reports its kind, an absolute working directory and its capabilities', () => {
        const workspace = get();
        expect(posix.isAbsolute(workspace.workingDir)).toBe(true);
        expect(workspace.capabilities).toEqual(capabilities);
        const descriptor = workspaceDescriptorSchema.parse(workspace.toDescriptor());
        expect(descriptor).toMatchObject({
          kind: workspace.kind,
          working_dir: workspace.workingDir,
        });
      });
    });

    group('executeCommand', false, (get) => {
      it('runs in the working directory and reports exit code, stdout and stderr apart', async () => {
        const workspace = get();
        await workspace.writeFile('where.txt', 'in the working directory');
        const result = await workspace.executeCommand('cat where.txt; echo; echo oops >&2; exit 3');
        expect(commandResultSchema.parse(result)).toEqual({
          command: 'cat where.txt; echo; echo oops >&2; exit 3',
          exit_code: 3,
          stdout: 'in the working directory\n',
          stderr: 'oops\n',
          timeout_occurred: false,
        });
        expect((await workspace.executeCommand('true')).exit_code).toBe(0);
        expect((await workspace.executeCommand('false')).exit_code).toBe(1);
      });

      it('passes extra environment variables and runs in a given cwd', async () => {
        const workspace = get();
        await workspace.writeFile('cwd-test/inside.txt', 'found');
        const result = await workspace.executeCommand(
          'printf "%s|" "$FERRY_VALUE"; cat inside.txt',
          {
            cwd: 'cwd-test',
            env: { FERRY_VALUE: 'a b "c"' },
          },
        );
        expect(result.stdout).toBe('a b "c"|found');
        const unset = await workspace.executeCommand('printf "%s" "${FERRY_VALUE-unset}"');
        expect(unset.stdout).toBe('unset');
      });

      it('keeps nothing between calls', async () => {
        const workspace = get();
        await workspace.executeCommand('export FERRY_GONE=1; cd /');
        const result = await workspace.executeCommand('printf "%s" "${FERRY_GONE-unset}"; pwd');
        expect(result.stdout).toBe(`unset${(await workspace.executeCommand('pwd')).stdout}`);
      });

      it('gives commands an empty stdin instead of waiting for input', async () => {
        const result = await get().executeCommand('cat; echo done', { timeout: 30 });
        expect(result).toMatchObject({ exit_code: 0, stdout: 'done\n', timeout_occurred: false });
      });

      it('kills a command past its timeout and says so', async () => {
        const workspace = get();
        const result = await workspace.executeCommand('echo started; sleep 100', { timeout: 1 });
        expect(result).toMatchObject({
          exit_code: -1,
          timeout_occurred: true,
          stdout: 'started\n',
        });
      });

      it('stops a command when its signal aborts, and rejects with the reason', async () => {
        const controller = new AbortController();
        const call = get().executeCommand('echo started; sleep 100', {
          timeout: 60,
          signal: controller.signal,
          onOutput: (chunk) => {
            if (chunk.text.includes('started')) controller.abort();
          },
        });
        await expect(call).rejects.toMatchObject({ name: 'AbortError' });
      });

      it('streams output while the command runs', async () => {
        const chunks: OutputChunk[] = [];
        const result = await get().executeCommand('echo one; echo two >&2; echo three', {
          onOutput: (chunk) => chunks.push(chunk),
        });
        const streamed = (stream: OutputChunk['stream']) =>
          chunks
            .filter((chunk) => chunk.stream === stream)
            .map((chunk) => chunk.text)
            .join('');
        expect(streamed('stdout')).toBe(result.stdout);
        expect(streamed('stderr')).toBe(result.stderr);
        expect(result.stdout).toBe('one\nthree\n');
      });

      it('returns large and unicode output whole', async () => {
        const workspace = get();
        const large = await workspace.executeCommand('seq 1 200000');
        const lines = large.stdout.trimEnd().split('\n');
        expect(lines).toHaveLength(200_000);
        expect(lines.at(-1)).toBe('200000');
        const unicode = await workspace.executeCommand("printf 'héllo 世界 🚀'");
        expect(unicode.stdout).toBe('héllo 世界 🚀');
      });
    });

    group('shell sessions', !capabilities.shellSessions, (get) => {
      it('keeps the working directory, variables and functions between commands', async () => {
        const workspace = get();
        await using shell = await workspace.openShell();
        await workspace.writeFile('session-dir/file.txt', 'x');
        const first = await shell.run(
          'cd session-dir && export FERRY_SESSION=kept && greet() { echo "hello $1"; }',
        );
        expect(shellRunResultSchema.parse(first)).toMatchObject({
          exit_code: 0,
          timeout_occurred: false,
        });
        expect(first.working_dir.endsWith('/session-dir')).toBe(true);
        const second = await shell.run('ls; echo "$FERRY_SESSION"; greet ferry');
        expect(second.output).toBe('file.txt\nkept\nhello ferry\n');
        expect(second.working_dir).toBe(first.working_dir);
      });

      it('reports exit codes and merges stderr into the output', async () => {
        await using shell = await get().openShell();
        const result = await shell.run('echo out; echo err >&2; (exit 4)');
        expect(result).toMatchObject({
          exit_code: 4,
          output: 'out\nerr\n',
          timeout_occurred: false,
        });
        expect(result.command).toBe('echo out; echo err >&2; (exit 4)');
      });

      it('runs multi-line commands with heredocs, quotes and unicode as written', async () => {
        await using shell = await get().openShell();
        const command =
          "cat <<'EOF'\nit's \"quoted\" $HOME \\ ünïcødé 🚀\nEOF\nprintf '%s\\n' '!bang'";
        const result = await shell.run(command);
        expect(result.output).toBe('it\'s "quoted" $HOME \\ ünïcødé 🚀\n!bang\n');
      });

      it('survives a syntax error', async () => {
        await using shell = await get().openShell();
        await shell.run('export FERRY_BEFORE=yes');
        const broken = await shell.run("echo 'unclosed");
        expect(broken.exit_code).not.toBe(0);
        expect((await shell.run('echo "$FERRY_BEFORE"')).output).toBe('yes\n');
      });

      it('interrupts a command past its timeout and stays usable with its state', async () => {
        await using shell = await get().openShell();
        await shell.run('cd / && export FERRY_STATE=still-here');
        const slow = await shell.run('echo before; sleep 100; echo never', { timeout: 1 });
        expect(slow.timeout_occurred).toBe(true);
        expect(slow.exit_code).not.toBe(0);
        expect(slow.output).toContain('before');
        expect(slow.output).not.toContain('never');
        expect(shell.busy).toBe(false);
        const next = await shell.run('echo "$FERRY_STATE"; pwd');
        expect(next).toMatchObject({
          exit_code: 0,
          output: 'still-here\n/\n',
          timeout_occurred: false,
        });
      });

      it('interrupts a busy loop of shell builtins', async () => {
        await using shell = await get().openShell();
        const loop = await shell.run('while :; do :; done', { timeout: 1 });
        expect(loop.timeout_occurred).toBe(true);
        expect((await shell.run('echo alive')).output).toBe('alive\n');
      });

      it('stops a command on abort, rejects with the reason and stays usable', async () => {
        await using shell = await get().openShell();
        const controller = new AbortController();
        const run = shell.run('echo started; sleep 100', {
          signal: controller.signal,
          onOutput: (chunk) => {
            if (chunk.text.includes('started')) controller.abort();
          },
        });
        await expect(run).rejects.toMatchObject({ name: 'AbortError' });
        expect((await shell.run('echo alive')).output).toBe('alive\n');
      });

      it('streams output while the command runs', async () => {
        await using shell = await get().openShell();
        const chunks: OutputChunk[] = [];
        const result = await shell.run('echo one; echo two >&2', {
          onOutput: (chunk) => chunks.push(chunk),
        });
        expect(chunks.map((chunk) => chunk.text).join('')).toBe(result.output);
        expect(result.output).toBe('one\ntwo\n');
      });

      it('returns large output whole', async () => {
        await using shell = await get().openShell();
        const result = await shell.run('seq 1 100000');
        const lines = result.output.trimEnd().split('\n');
        expect(lines).toHaveLength(100_000);
        expect(lines.at(-1)).toBe('100000');
      });

      it('reset() starts over in the working directory with a clean environment', async () => {
        const workspace = get();
        await using shell = await workspace.openShell();
        const home = (await shell.run('pwd')).working_dir;
        await shell.run('cd / && export FERRY_RESET=1 && gone() { :; }');
        await shell.reset();
        const result = await shell.run(
          'printf "%s|" "${FERRY_RESET-unset}"; type gone >/dev/null 2>&1 || echo no-function',
        );
        expect(result.output).toBe('unset|no-function\n');
        expect(result.working_dir).toBe(home);
      });

      it('starts a new shell after the old one exits', async () => {
        await using shell = await get().openShell();
        const home = (await shell.run('pwd')).working_dir;
        await shell.run('cd /');
        expect((await shell.run('exit 3')).exit_code).toBe(3);
        const after = await shell.run('echo back');
        expect(after).toMatchObject({ exit_code: 0, working_dir: home });
        expect(after.output).toContain('back\n');
      });

      it('refuses a second command while one runs', async () => {
        await using shell = await get().openShell();
        const slow = shell.run('sleep 100', { timeout: 60 });
        await expect(shell.run('echo too soon')).rejects.toSatisfy(
          (error) => ShellSessionError.isInstance(error) && error.reason === 'busy',
        );
        await shell.reset();
        await slow;
      });

      it('returns the open session for a known id and keeps sessions apart', async () => {
        const workspace = get();
        await using first = await workspace.openShell({ id: 'conformance-a' });
        await using second = await workspace.openShell({ id: 'conformance-b' });
        expect(await workspace.openShell({ id: 'conformance-a' })).toBe(first);
        expect(first.id).toBe('conformance-a');
        await first.run('cd / && export FERRY_WHO=first');
        const other = await second.run('printf "%s" "${FERRY_WHO-unset}"');
        expect(other.output).toBe('unset');
        expect(other.working_dir).not.toBe('/');
      });

      it('refuses commands after close()', async () => {
        const shell = await get().openShell();
        await shell.close();
        await expect(shell.run('echo hi')).rejects.toSatisfy(
          (error) => ShellSessionError.isInstance(error) && error.reason === 'closed',
        );
      });
    });

    group('shell input', !capabilities.shellSessions || !capabilities.shellInput, (get) => {
      it('leaves a command running on timeout when asked, and feeds it input', async () => {
        await using shell = await get().openShell();
        const waiting = await shell.run('read -r name; echo "hello $name"', {
          timeout: 1,
          interruptOnTimeout: false,
        });
        expect(waiting).toMatchObject({ exit_code: -1, timeout_occurred: true });
        expect(shell.busy).toBe(true);
        await expect(shell.run('echo not now')).rejects.toSatisfy(
          (error) => ShellSessionError.isInstance(error) && error.reason === 'busy',
        );
        const answered = await shell.run('ferry', { isInput: true, timeout: 30 });
        expect(answered).toMatchObject({ exit_code: 0, timeout_occurred: false });
        expect(answered.output).toContain('hello ferry');
        expect(shell.busy).toBe(false);
      });

      it('interrupts a running command with C-c', async () => {
        await using shell = await get().openShell();
        await shell.run('sleep 100', { timeout: 1, interruptOnTimeout: false });
        const interrupted = await shell.run('C-c', { isInput: true, timeout: 30 });
        expect(interrupted.exit_code).not.toBe(0);
        expect(interrupted.exit_code).not.toBe(-1);
        expect((await shell.run('echo alive')).output).toBe('alive\n');
      });

      it('refuses input when nothing runs', async () => {
        await using shell = await get().openShell();
        await expect(shell.run('hello', { isInput: true })).rejects.toSatisfy(
          (error) => ShellSessionError.isInstance(error) && error.reason === 'no_running_command',
        );
      });
    });

    group('files', false, (get) => {
      it('writes and reads text, creating parent folders', async () => {
        const workspace = get();
        await workspace.writeFile('text/deep/hello.txt', 'hello\n');
        expect(decode(await workspace.readFile('text/deep/hello.txt'))).toBe('hello\n');
        await workspace.writeFile('text/deep/hello.txt', 'replaced');
        expect(decode(await workspace.readFile('text/deep/hello.txt'))).toBe('replaced');
        const viaShell = await workspace.executeCommand('cat text/deep/hello.txt');
        expect(viaShell.stdout).toBe('replaced');
      });

      it('round-trips unicode text as UTF-8', async () => {
        const workspace = get();
        const text = 'héllo wörld — 世界 🚀\n';
        await workspace.writeFile('unicode.txt', text);
        const bytes = await workspace.readFile('unicode.txt');
        expect(bytes).toEqual(new TextEncoder().encode(text));
        expect((await workspace.stat('unicode.txt')).size).toBe(bytes.byteLength);
      });

      it('round-trips every byte value', async () => {
        const workspace = get();
        const bytes = new Uint8Array(4096).map((_, index) => (index * 7 + (index >> 8)) % 256);
        await workspace.writeFile('binary.bin', bytes);
        expect(await workspace.readFile('binary.bin')).toEqual(bytes);
        const size = await workspace.executeCommand('wc -c < binary.bin');
        expect(Number(size.stdout.trim())).toBe(bytes.byteLength);
      });

      it('round-trips a large file', async () => {
        const workspace = get();
        const bytes = new Uint8Array(8 * 1024 * 1024).map((_, index) => (index * 31) % 251);
        await workspace.writeFile('large.bin', bytes);
        const back = await workspace.readFile('large.bin');
        expect(back.byteLength).toBe(bytes.byteLength);
        expect(Buffer.from(back).equals(Buffer.from(bytes))).toBe(true);
      });

      it('lists a folder sorted by name with types and sizes', async () => {
        const workspace = get();
        await workspace.writeFile('listing/b.txt', 'bb');
        await workspace.writeFile('listing/a.txt', 'a');
        await workspace.writeFile('listing/sub/c.txt', 'c');
        const entries = await workspace.listFiles('listing');
        for (const entry of entries) fileEntrySchema.parse(entry);
        expect(entries.map(({ name, type }) => ({ name, type }))).toEqual([
          { name: 'a.txt', type: 'file' },
          { name: 'b.txt', type: 'file' },
          { name: 'sub', type: 'directory' },
        ]);
        expect(entries[1]?.size).toBe(2);
        expect(entries[0]?.path).toBe(posix.join(workspace.workingDir, 'listing', 'a.txt'));
        const top = await workspace.listFiles();
        expect(top.map((entry) => entry.name)).toContain('listing');
      });

      it('tells whether a path exists and describes it', async () => {
        const workspace = get();
        await workspace.writeFile('exists/file.txt', '12345');
        expect(await workspace.exists('exists/file.txt')).toBe(true);
        expect(await workspace.exists('exists/missing.txt')).toBe(false);
        expect(await workspace.stat('exists/file.txt')).toMatchObject({ type: 'file', size: 5 });
        expect(await workspace.stat('exists')).toMatchObject({ type: 'directory' });
      });

      it('refuses a missing file or a folder with a WorkspaceFileError', async () => {
        const workspace = get();
        await workspace.writeFile('errors/file.txt', 'x');
        await expect(workspace.readFile('errors/missing.txt')).rejects.toSatisfy(
          (error) => WorkspaceFileError.isInstance(error) && error.reason === 'not_found',
        );
        await expect(workspace.stat('errors/missing.txt')).rejects.toSatisfy(
          (error) => WorkspaceFileError.isInstance(error) && error.reason === 'not_found',
        );
        await expect(workspace.readFile('errors')).rejects.toSatisfy(
          (error) => WorkspaceFileError.isInstance(error) && error.reason === 'is_a_directory',
        );
      });

      it('uploads and downloads files', async () => {
        const workspace = get();
        await using local = await createTemporaryDirectory();
        const bytes = new TextEncoder().encode('uploaded ✓\n');
        await writeLocalFile(joinLocal(local.path, 'source.txt'), bytes);
        await workspace.uploadFile(joinLocal(local.path, 'source.txt'), 'transfer/in/up.txt');
        expect(await workspace.readFile('transfer/in/up.txt')).toEqual(bytes);
        await workspace.downloadFile('transfer/in/up.txt', joinLocal(local.path, 'out/down.txt'));
        const downloaded = await readLocalFile(joinLocal(local.path, 'out/down.txt'));
        expect(new Uint8Array(downloaded)).toEqual(bytes);
      });
    });

    group('path confinement', false, (get) => {
      let outside = '';
      const listOutside = async () =>
        (
          await get().executeCommand(
            `ls -A ${quote(outside)}; cat ${quote(`${outside}/secret.txt`)}`,
          )
        ).stdout;

      beforeAll(async () => {
        const workspace = get();
        outside = `${posix.dirname(workspace.workingDir)}/outside-${Math.random().toString(36).slice(2)}`;
        const made = await workspace.executeCommand(
          `mkdir -p ${quote(outside)} && printf secret > ${quote(`${outside}/secret.txt`)}`,
        );
        expect(made.exit_code).toBe(0);
      }, timeout);
      afterAll(async () => {
        if (outside !== '') await get().executeCommand(`rm -rf ${quote(outside)}`);
      }, timeout);

      const refused = (error: unknown) => PathOutsideWorkspaceError.isInstance(error);
      const outsideName = () => posix.basename(outside);

      it('refuses paths that climb out with ..', async () => {
        const workspace = get();
        const before = await listOutside();
        const escape = `../${outsideName()}`;
        await expect(workspace.readFile(`${escape}/secret.txt`)).rejects.toSatisfy(refused);
        await expect(workspace.writeFile(`${escape}/new.txt`, 'x')).rejects.toSatisfy(refused);
        await expect(
          workspace.writeFile(`inner/../../${outsideName()}/new.txt`, 'x'),
        ).rejects.toSatisfy(refused);
        await expect(workspace.listFiles('..')).rejects.toSatisfy(refused);
        await expect(workspace.exists(`${escape}/secret.txt`)).rejects.toSatisfy(refused);
        expect(await listOutside()).toBe(before);
      });

      it('refuses absolute paths outside', async () => {
        const workspace = get();
        const before = await listOutside();
        await using local = await createTemporaryDirectory();
        await writeLocalFile(joinLocal(local.path, 'up.txt'), 'x');
        await expect(workspace.readFile(`${outside}/secret.txt`)).rejects.toSatisfy(refused);
        await expect(workspace.writeFile(`${outside}/secret.txt`, 'changed')).rejects.toSatisfy(
          refused,
        );
        await expect(workspace.stat(`${outside}/secret.txt`)).rejects.toSatisfy(refused);
        await expect(workspace.listFiles(outside)).rejects.toSatisfy(refused);
        await expect(
          workspace.uploadFile(joinLocal(local.path, 'up.txt'), `${outside}/up.txt`),
        ).rejects.toSatisfy(refused);
        await expect(
          workspace.downloadFile(`${outside}/secret.txt`, joinLocal(local.path, 'down.txt')),
        ).rejects.toSatisfy(refused);
        await expect(workspace.executeCommand('pwd', { cwd: outside })).rejects.toSatisfy(refused);
        expect(await listOutside()).toBe(before);
      });

      it('allows .. that stays inside', async () => {
        const workspace = get();
        await workspace.writeFile('stay/inside.txt', 'ok');
        expect(decode(await workspace.readFile('stay/../stay/inside.txt'))).toBe('ok');
        const absolute = posix.join(workspace.workingDir, 'stay', 'inside.txt');
        expect(decode(await workspace.readFile(absolute))).toBe('ok');
      });

      it.skipIf(!capabilities.symlinks)('refuses symlinks that point outside', async () => {
        const workspace = get();
        const before = await listOutside();
        const linked = await workspace.executeCommand(
          [
            `ln -s ${quote(outside)} escape-dir`,
            `ln -s ${quote(`${outside}/secret.txt`)} escape-file.txt`,
            `ln -s ${quote(`${outside}/not-yet.txt`)} dangling.txt`,
          ].join(' && '),
        );
        expect(linked.exit_code).toBe(0);
        await expect(workspace.readFile('escape-dir/secret.txt')).rejects.toSatisfy(refused);
        await expect(workspace.writeFile('escape-dir/new.txt', 'x')).rejects.toSatisfy(refused);
        await expect(workspace.listFiles('escape-dir')).rejects.toSatisfy(refused);
        await expect(workspace.readFile('escape-file.txt')).rejects.toSatisfy(refused);
        await expect(workspace.writeFile('escape-file.txt', 'changed')).rejects.toSatisfy(refused);
        await expect(workspace.writeFile('dangling.txt', 'created?')).rejects.toSatisfy(refused);
        expect(await listOutside()).toBe(before);
      });

      it.skipIf(!capabilities.symlinks)('follows symlinks that stay inside', async () => {
        const workspace = get();
        await workspace.writeFile('real.txt', 'real');
        await workspace.executeCommand('ln -s real.txt alias.txt');
        expect(decode(await workspace.readFile('alias.txt'))).toBe('real');
        expect(await workspace.stat('alias.txt')).toMatchObject({ type: 'symlink' });
      });

      it.skipIf(!capabilities.git)('refuses git queries outside', async () => {
        const workspace = get();
        await expect(workspace.gitChanges(outside)).rejects.toSatisfy(refused);
        await expect(workspace.gitDiff(`${outside}/secret.txt`)).rejects.toSatisfy(refused);
      });
    });

    group('git', !capabilities.git, (get) => {
      const git =
        'git -c user.email=conformance@example.com -c user.name=Conformance -c commit.gpgsign=false';

      beforeAll(async () => {
        const workspace = get();
        await workspace.writeFile('repo/keep.txt', 'keep\n');
        await workspace.writeFile('repo/change.txt', 'one\n');
        await workspace.writeFile('repo/remove.txt', 'removed later\n');
        await workspace.writeFile('repo/move-me.txt', 'moving\n');
        const setup = await workspace.executeCommand(
          [
            'git init -q',
            'git add -A',
            `${git} commit -q -m initial`,
            "printf 'two\\n' > change.txt",
            'rm remove.txt',
            'git mv move-me.txt moved.txt',
            "printf 'new\\n' > untracked.txt",
            "printf 'staged\\n' > staged.txt",
            'git add staged.txt',
          ].join(' && '),
          { cwd: 'repo' },
        );
        expect(setup).toMatchObject({ exit_code: 0 });
      }, timeout);

      it('lists changes against HEAD, untracked files included', async () => {
        expect(await get().gitChanges('repo')).toEqual([
          { status: 'UPDATED', path: 'change.txt' },
          { status: 'MOVED', path: 'moved.txt' },
          { status: 'DELETED', path: 'remove.txt' },
          { status: 'ADDED', path: 'staged.txt' },
          { status: 'ADDED', path: 'untracked.txt' },
        ]);
      });

      it('lists the repositories inside a folder that is not one', async () => {
        const changes = await get().gitChanges();
        expect(changes.filter((change) => change.path.startsWith('repo/'))).toEqual([
          { status: 'UPDATED', path: 'repo/change.txt' },
          { status: 'MOVED', path: 'repo/moved.txt' },
          { status: 'DELETED', path: 'repo/remove.txt' },
          { status: 'ADDED', path: 'repo/staged.txt' },
          { status: 'ADDED', path: 'repo/untracked.txt' },
        ]);
      });

      it('gives both sides of a changed, a new and a deleted file', async () => {
        const workspace = get();
        expect(await workspace.gitDiff('repo/change.txt')).toEqual({
          original: 'one\n',
          modified: 'two\n',
        });
        expect(await workspace.gitDiff('repo/untracked.txt')).toEqual({
          original: null,
          modified: 'new\n',
        });
        expect(await workspace.gitDiff('repo/remove.txt')).toEqual({
          original: 'removed later\n',
          modified: null,
        });
        expect(await workspace.gitDiff('repo/keep.txt')).toEqual({
          original: 'keep\n',
          modified: 'keep\n',
        });
      });

      it('handles a repository without commits', async () => {
        const workspace = get();
        await workspace.writeFile('fresh/first.txt', 'first\n');
        expect((await workspace.executeCommand('git init -q', { cwd: 'fresh' })).exit_code).toBe(0);
        expect(await workspace.gitChanges('fresh')).toEqual([
          { status: 'ADDED', path: 'first.txt' },
        ]);
        expect(await workspace.gitDiff('fresh/first.txt')).toEqual({
          original: null,
          modified: 'first\n',
        });
      });

      it('refuses a diff outside any repository with a WorkspaceGitError', async () => {
        const workspace = get();
        await workspace.writeFile('plain.txt', 'not versioned');
        await expect(workspace.gitDiff('plain.txt')).rejects.toSatisfy((error) =>
          WorkspaceGitError.isInstance(error),
        );
      });
    });
  });
}

function decode(bytes: Uint8Array): string {
  return new TextDecoder().decode(bytes);
}

/** Single-quotes `text` for bash. */
function quote(text: string): string {
  return `'${text.replaceAll("'", "'\\''")}'`;
}
