/**
 * The `terminal` and `file_editor` tools of `@ferry/sdk-core` against a real `LocalWorkspace`:
 * first called directly, then driven by a conversation with the scripted LLM.
 */
import {
  InMemoryFileStore,
  LocalConversation,
  LocalFileStore,
  createFileEditorTool,
  createTerminalTool,
  fileEditorTool,
  terminalTool,
} from '@ferry/sdk-core';
import type { AnyEvent, FileStore, ToolContext, ToolResult } from '@ferry/sdk-core';
import {
  createTemporaryDirectory,
  startScriptedLLMServer,
  toolCall,
} from '@ferry/sdk-core/testing';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, realpath, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { LocalWorkspace } from './local-workspace';

const CONVERSATION_ID = '5d1b7c4e-2f0a-4c3b-9e8d-7a6b5c4d3e2f';
const SECRET = 'sk-live-3f9a2c7e1b5d';

const maskSecrets = (value: string) => value.replaceAll(SECRET, '<secret-hidden>');

interface Setup extends AsyncDisposable {
  /** Holds `project/` (the working directory) and `outside/`. */
  root: string;
  workingDir: string;
  outside: string;
  workspace: LocalWorkspace;
  store: FileStore;
  context(overrides?: Partial<ToolContext>): ToolContext;
}

async function setup(options: { store?: (root: string) => FileStore } = {}): Promise<Setup> {
  const directory = await createTemporaryDirectory({ prefix: 'ferry-tools-' });
  const root = await realpath(directory.path);
  const workingDir = join(root, 'project');
  const outside = join(root, 'outside');
  await mkdir(workingDir);
  await mkdir(outside);
  const workspace = new LocalWorkspace({ workingDir, env: { API_TOKEN: SECRET } });
  const store = options.store?.(join(root, 'conversation')) ?? new InMemoryFileStore();
  let calls = 0;
  return {
    root,
    workingDir,
    outside,
    workspace,
    store,
    context: (overrides = {}) => ({
      conversationId: CONVERSATION_ID,
      workspace,
      store,
      signal: new AbortController().signal,
      toolCallId: `call_${(calls += 1)}`,
      maskSecrets,
      ...overrides,
    }),
    [Symbol.asyncDispose]: async () => {
      await workspace.close();
      await directory.remove();
    },
  };
}

type Terminal = typeof terminalTool;
type Editor = typeof fileEditorTool;

/** Calls a tool the way the run loop does: arguments validated (and defaulted) by its schema. */
function runTerminal(
  env: Setup,
  args: Record<string, unknown>,
  tool: Terminal = terminalTool,
  context = env.context(),
) {
  return tool.execute(tool.parameters.parse(args), context);
}

function runEditor(
  env: Setup,
  args: Record<string, unknown>,
  tool: Editor = fileEditorTool,
  context = env.context(),
) {
  return tool.execute(tool.parameters.parse(args), context);
}

function textOf(result: ToolResult): string {
  return typeof result.content === 'string'
    ? result.content
    : result.content.map((part) => part.text).join('');
}

describe('terminal tool on a LocalWorkspace', { timeout: 30_000 }, () => {
  it('keeps cd and export between calls, and reports the working directory', async () => {
    await using env = await setup();
    const first = await runTerminal(env, {
      command: 'mkdir -p sub && cd sub && export GREETING=hello',
    });
    expect(first.isError).toBeUndefined();
    expect(first.fields).toMatchObject({
      exit_code: 0,
      timeout: false,
      metadata: { working_dir: join(env.workingDir, 'sub') },
    });

    const second = await runTerminal(env, { command: 'echo "$GREETING from $(pwd)"' });
    expect(textOf(second)).toBe(
      `hello from ${env.workingDir}/sub\n` +
        `[Current working directory: ${env.workingDir}/sub]\n` +
        '[Command finished with exit code 0]',
    );
    expect(second.fields).toMatchObject({
      command: 'echo "$GREETING from $(pwd)"',
      exit_code: 0,
      timeout: false,
      metadata: { exit_code: 0, working_dir: join(env.workingDir, 'sub') },
    });
  });

  it('reports a failing command with its exit code', async () => {
    await using env = await setup();
    const result = await runTerminal(env, { command: 'ls does-not-exist' });
    expect(result.isError).toBeUndefined();
    expect(result.fields).toMatchObject({ exit_code: 2, timeout: false });
    expect(textOf(result)).toMatch(/does-not-exist/);
    expect(textOf(result)).toMatch(/\[Command finished with exit code 2\]$/);
  });

  it('interrupts a command at its timeout, and the next command works', async () => {
    await using env = await setup();
    const slow = await runTerminal(env, { command: 'export KEPT=yes; sleep 100', timeout: 1 });
    expect(slow.fields).toMatchObject({ timeout: true });
    expect(textOf(slow)).toMatch(/timed out after 1 second and was interrupted/);

    const next = await runTerminal(env, { command: 'echo "next works, KEPT=$KEPT"' });
    expect(next.fields).toMatchObject({ exit_code: 0, timeout: false });
    expect(textOf(next)).toMatch(/^next works, KEPT=yes\n/);
  });

  it('hands back a command that outlives the default timeout, then sends it input', async () => {
    await using env = await setup();
    const tool = createTerminalTool({ defaultTimeout: 1 });
    const waiting = await runTerminal(
      env,
      { command: 'read -r answer; echo "got: $answer"' },
      tool,
    );
    expect(waiting.fields).toMatchObject({ exit_code: -1, timeout: true });
    expect(textOf(waiting)).toMatch(/still running after 1 second/);

    const refused = await runTerminal(env, { command: 'echo other' }, tool);
    expect(refused.isError).toBe(true);
    expect(textOf(refused)).toMatch(/was NOT run: the previous command is still running/);

    const answered = await runTerminal(
      env,
      { command: 'forty-two', is_input: true, timeout: 60 },
      tool,
    );
    expect(answered.fields).toMatchObject({ command: 'forty-two', exit_code: 0, timeout: false });
    expect(textOf(answered)).toMatch(/^got: forty-two\n/);
  });

  it('interrupts a running command with C-c sent as input', async () => {
    await using env = await setup();
    const tool = createTerminalTool({ defaultTimeout: 1 });
    const running = await runTerminal(env, { command: 'sleep 100' }, tool);
    expect(running.fields).toMatchObject({ exit_code: -1 });

    const interrupted = await runTerminal(
      env,
      { command: 'C-c', is_input: true, timeout: 60 },
      tool,
    );
    expect(interrupted.fields).toMatchObject({ exit_code: 130 });
    const next = await runTerminal(env, { command: 'echo ready' }, tool);
    expect(textOf(next)).toMatch(/^ready\n/);
  });

  it('answers input sent while nothing runs with an error', async () => {
    await using env = await setup();
    const result = await runTerminal(env, { command: 'hello', is_input: true });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(/no command is running/);
  });

  it('starts a fresh shell on reset', async () => {
    await using env = await setup();
    await runTerminal(env, { command: 'mkdir -p sub && cd sub && export LEFTOVER=1' });
    const result = await runTerminal(env, {
      command: 'echo "LEFTOVER=$LEFTOVER"; pwd',
      reset: true,
    });
    expect(textOf(result)).toMatch(/has been reset/);
    expect(textOf(result)).toContain(`LEFTOVER=\n${env.workingDir}\n`);

    await runTerminal(env, { command: 'cd sub' });
    const resetOnly = await runTerminal(env, { command: '', reset: true });
    expect(textOf(resetOnly)).toMatch(/^The terminal session has been reset/);
    expect(resetOnly.fields).toMatchObject({
      exit_code: 0,
      metadata: { working_dir: env.workingDir },
    });
    expect(textOf(await runTerminal(env, { command: 'pwd' }))).toMatch(`${env.workingDir}\n`);
  });

  it('stops the command when the conversation is interrupted, and the next command works', async () => {
    await using env = await setup();
    const abort = new AbortController();
    const pending = runTerminal(
      env,
      { command: 'touch started; sleep 100' },
      terminalTool,
      env.context({ signal: abort.signal }),
    );
    await vi.waitFor(() => expect(existsSync(join(env.workingDir, 'started'))).toBe(true), {
      timeout: 20_000,
    });
    abort.abort(new Error('interrupted by the user'));
    await expect(pending).rejects.toThrow('interrupted by the user');

    const next = await runTerminal(env, { command: 'echo after' });
    expect(textOf(next)).toMatch(/^after\n/);
  });

  it('cuts a long output in the middle and keeps the whole of it under observations/', async () => {
    await using env = await setup();
    const tool = createTerminalTool({ maxOutputChars: 1_000 });
    const context = env.context({ toolCallId: 'call_long' });
    const result = await runTerminal(env, { command: 'seq 1 20000' }, tool, context);
    const full = `${Array.from({ length: 20_000 }, (_, index) => index + 1).join('\n')}\n`;

    const content = textOf(result);
    expect(content.startsWith('1\n2\n3\n')).toBe(true);
    expect(content).toContain('19999\n20000\n[Current working directory:');
    expect(content).toContain(
      `characters of output were cut here. The full output (${full.length} characters) is saved in ` +
        `${env.store.describe('observations/call_long.txt')}`,
    );
    expect(content.length).toBeLessThan(1_600);
    expect(await env.store.readText('observations/call_long.txt')).toBe(full);
    expect(result.fields).toMatchObject({
      full_output_save_dir: env.store.describe('observations'),
    });
  });

  it('leaves a short output whole and writes no side file', async () => {
    await using env = await setup();
    const result = await runTerminal(env, { command: 'echo short' });
    expect(result.fields).toMatchObject({ full_output_save_dir: null });
    expect(await env.store.list('observations')).toEqual([]);
  });

  it('masks secret values in what it returns and what it writes', async () => {
    await using env = await setup();
    const tool = createTerminalTool({ maxOutputChars: 500 });
    const short = await runTerminal(
      env,
      { command: `echo "token=$API_TOKEN"; echo ${SECRET}` },
      tool,
    );
    expect(textOf(short)).toMatch(/^token=<secret-hidden>\n<secret-hidden>\n/);
    expect(short.fields).toMatchObject({
      command: 'echo "token=$API_TOKEN"; echo <secret-hidden>',
    });

    const long = await runTerminal(
      env,
      { command: 'for i in $(seq 1 300); do echo "line $i $API_TOKEN"; done' },
      tool,
    );
    const saved = (await env.store.readText('observations/call_2.txt')) ?? '';
    expect(saved).toContain('line 300 <secret-hidden>');
    for (const written of [
      textOf(short),
      textOf(long),
      JSON.stringify(short.fields),
      JSON.stringify(long.fields),
      saved,
    ]) {
      expect(written).not.toContain(SECRET);
    }
  });
});

describe('file_editor tool on a LocalWorkspace', { timeout: 30_000 }, () => {
  const program = 'def add(a, b):\n    return a - b\n\nprint(add(2, 3))\n';

  it('creates a file, and refuses to overwrite one', async () => {
    await using env = await setup();
    const created = await runEditor(env, {
      command: 'create',
      path: 'pkg/calc.py',
      file_text: program,
    });
    expect(textOf(created)).toBe(`File created successfully at: ${env.workingDir}/pkg/calc.py`);
    expect(created.fields).toMatchObject({
      command: 'create',
      path: `${env.workingDir}/pkg/calc.py`,
      prev_exist: false,
      new_content: program,
    });
    expect(await readFile(join(env.workingDir, 'pkg/calc.py'), 'utf8')).toBe(program);

    const again = await runEditor(env, {
      command: 'create',
      path: 'pkg/calc.py',
      file_text: 'overwritten',
    });
    expect(again.isError).toBe(true);
    expect(textOf(again)).toMatch(
      /File already exists at: .*calc\.py\. Cannot overwrite files using command `create`/,
    );
    expect(again.fields).toMatchObject({ command: 'create', error: textOf(again) });
    expect(await readFile(join(env.workingDir, 'pkg/calc.py'), 'utf8')).toBe(program);
  });

  it('views a file with line numbers, whole or a range, by relative or absolute path', async () => {
    await using env = await setup();
    await writeFile(join(env.workingDir, 'calc.py'), program);
    const path = `${env.workingDir}/calc.py`;

    const whole = await runEditor(env, { command: 'view', path: 'calc.py' });
    expect(textOf(whole)).toBe(
      `Here's the result of running \`cat -n\` on ${path}:\n` +
        '     1\tdef add(a, b):\n     2\t    return a - b\n     3\t\n     4\tprint(add(2, 3))\n',
    );
    const range = await runEditor(env, { command: 'view', path, view_range: [2, 3] });
    expect(textOf(range)).toBe(
      `Here's the result of running \`cat -n\` on ${path}:\n     2\t    return a - b\n     3\t\n`,
    );
    const toEnd = await runEditor(env, { command: 'view', path, view_range: [3, -1] });
    expect(textOf(toEnd)).toBe(
      `Here's the result of running \`cat -n\` on ${path}:\n     3\t\n     4\tprint(add(2, 3))\n`,
    );

    const outOfRange = await runEditor(env, { command: 'view', path, view_range: [9, 12] });
    expect(outOfRange.isError).toBe(true);
    expect(textOf(outOfRange)).toMatch(
      /first element `9` should be within the range of lines of the file: \[1, 4\]/,
    );
  });

  it('lists a directory two levels deep, without hidden entries', async () => {
    await using env = await setup();
    await mkdir(join(env.workingDir, 'src/lib/deep'), { recursive: true });
    await mkdir(join(env.workingDir, '.git'));
    await writeFile(join(env.workingDir, 'README.md'), '# demo\n');
    await writeFile(join(env.workingDir, 'src/main.py'), '');
    await writeFile(join(env.workingDir, 'src/.cache'), '');
    await writeFile(join(env.workingDir, 'src/lib/deep/hidden-by-depth.py'), '');

    const result = await runEditor(env, { command: 'view', path: '.' });
    const root = env.workingDir;
    expect(textOf(result)).toBe(
      `Here's the files and directories up to 2 levels deep in ${root}, excluding hidden items:\n` +
        `${root}/\n${root}/README.md\n${root}/src/\n${root}/src/lib/\n${root}/src/main.py\n\n` +
        `1 hidden files/directories in this directory are excluded. You can use 'ls -la ${root}' to see them.`,
    );
  });

  it('replaces a string that occurs exactly once, and shows the edited lines', async () => {
    await using env = await setup();
    await writeFile(join(env.workingDir, 'calc.py'), program);
    const result = await runEditor(env, {
      command: 'str_replace',
      path: 'calc.py',
      old_str: 'a - b',
      new_str: 'a + b',
    });
    const fixed = program.replace('a - b', 'a + b');
    expect(result.isError).toBeUndefined();
    expect(textOf(result)).toContain('     2\t    return a + b\n');
    expect(textOf(result)).toMatch(/^The file .*calc\.py has been edited\./);
    expect(result.fields).toMatchObject({
      command: 'str_replace',
      old_content: program,
      new_content: fixed,
    });
    expect(await readFile(join(env.workingDir, 'calc.py'), 'utf8')).toBe(fixed);
  });

  it('refuses a string that does not occur, with a hint about whitespace', async () => {
    await using env = await setup();
    await writeFile(join(env.workingDir, 'calc.py'), program);
    const missing = await runEditor(env, {
      command: 'str_replace',
      path: 'calc.py',
      old_str: 'a * b',
      new_str: 'a + b',
    });
    expect(missing.isError).toBe(true);
    expect(textOf(missing)).toMatch(/old_str `a \* b` did not appear verbatim in .*calc\.py/);

    const indented = await runEditor(env, {
      command: 'str_replace',
      path: 'calc.py',
      old_str: '  return a - b  ',
      new_str: 'x',
    });
    expect(textOf(indented)).toMatch(
      /Without its leading and trailing whitespace it appears in lines \[2\]/,
    );
    expect(await readFile(join(env.workingDir, 'calc.py'), 'utf8')).toBe(program);
  });

  it('refuses a string that occurs several times, listing the lines of every match', async () => {
    await using env = await setup();
    await writeFile(join(env.workingDir, 'log.txt'), 'x = 1\nkeep\nx = 2\nkeep\nx = 3\n');
    const result = await runEditor(env, {
      command: 'str_replace',
      path: 'log.txt',
      old_str: 'x = ',
      new_str: 'y = ',
    });
    expect(result.isError).toBe(true);
    expect(textOf(result)).toMatch(
      /Multiple occurrences \(3\) of old_str `x = ` in lines \[1,3,5\]/,
    );
    expect(await readFile(join(env.workingDir, 'log.txt'), 'utf8')).toBe(
      'x = 1\nkeep\nx = 2\nkeep\nx = 3\n',
    );
  });

  it('inserts lines after a given line, at the top and at the end', async () => {
    await using env = await setup();
    await writeFile(join(env.workingDir, 'list.txt'), 'one\ntwo\n');
    const file = join(env.workingDir, 'list.txt');

    await runEditor(env, {
      command: 'insert',
      path: 'list.txt',
      insert_line: 1,
      new_str: 'one and a half',
    });
    expect(await readFile(file, 'utf8')).toBe('one\none and a half\ntwo\n');
    await runEditor(env, {
      command: 'insert',
      path: 'list.txt',
      insert_line: 0,
      new_str: 'zero\n',
    });
    expect(await readFile(file, 'utf8')).toBe('zero\none\none and a half\ntwo\n');
    const end = await runEditor(env, {
      command: 'insert',
      path: 'list.txt',
      insert_line: 4,
      new_str: 'three\nfour',
    });
    expect(await readFile(file, 'utf8')).toBe('zero\none\none and a half\ntwo\nthree\nfour\n');
    expect(textOf(end)).toContain('     5\tthree\n     6\tfour\n');

    const beyond = await runEditor(env, {
      command: 'insert',
      path: 'list.txt',
      insert_line: 9,
      new_str: 'x',
    });
    expect(beyond.isError).toBe(true);
    expect(textOf(beyond)).toMatch(/It should be within the range of allowed values: \[0, 6\]/);
  });

  it('undoes edits one by one, even after the conversation is reopened', async () => {
    await using env = await setup({ store: (root) => new LocalFileStore({ root }) });
    const file = join(env.workingDir, 'calc.py');
    await runEditor(env, { command: 'create', path: 'calc.py', file_text: program });
    await runEditor(env, {
      command: 'str_replace',
      path: 'calc.py',
      old_str: 'a - b',
      new_str: 'a + b',
    });
    await runEditor(env, {
      command: 'insert',
      path: 'calc.py',
      insert_line: 0,
      new_str: '# calculator',
    });

    // A reopened conversation: new tool instance, new store object on the same folder.
    const reopened = {
      ...env.context(),
      store: new LocalFileStore({ root: join(env.root, 'conversation') }),
    };
    const tool = createFileEditorTool();
    const first = await runEditor(env, { command: 'undo_edit', path: file }, tool, reopened);
    expect(textOf(first)).toMatch(/^Last edit to .*calc\.py undone successfully\./);
    expect(await readFile(file, 'utf8')).toBe(program.replace('a - b', 'a + b'));
    await runEditor(env, { command: 'undo_edit', path: 'calc.py' }, tool, reopened);
    expect(await readFile(file, 'utf8')).toBe(program);

    const none = await runEditor(env, { command: 'undo_edit', path: 'calc.py' }, tool, reopened);
    expect(none.isError).toBe(true);
    expect(textOf(none)).toMatch(/No edit history found for .*calc\.py/);
    expect(await readFile(file, 'utf8')).toBe(program);
  });

  it('refuses binary files', async () => {
    await using env = await setup();
    await writeFile(
      join(env.workingDir, 'image.bin'),
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x00, 0x01]),
    );
    await writeFile(
      join(env.workingDir, 'latin1.txt'),
      Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]),
    );
    for (const path of ['image.bin', 'latin1.txt']) {
      const viewed = await runEditor(env, { command: 'view', path });
      expect(viewed.isError).toBe(true);
      expect(textOf(viewed)).toMatch(/appears to be binary/);
    }
    const edited = await runEditor(env, {
      command: 'str_replace',
      path: 'latin1.txt',
      old_str: 'caf',
      new_str: 'tea',
    });
    expect(edited.isError).toBe(true);
    expect(await readFile(join(env.workingDir, 'latin1.txt'))).toEqual(
      Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]),
    );
  });

  it('refuses to view a file over 5 MB whole, but shows a range of it', async () => {
    await using env = await setup();
    const line = `${'x'.repeat(99)}\n`;
    await writeFile(join(env.workingDir, 'big.log'), line.repeat(60_000));
    const whole = await runEditor(env, { command: 'view', path: 'big.log' });
    expect(whole.isError).toBe(true);
    expect(textOf(whole)).toMatch(/is too large \(5\.7 MB\); the limit is 5\.0 MB/);

    const range = await runEditor(env, {
      command: 'view',
      path: 'big.log',
      view_range: [59_999, -1],
    });
    expect(range.isError).toBeUndefined();
    expect(textOf(range)).toContain(` 59999\t${'x'.repeat(99)}\n 60000\t`);
  });

  it('clips a long view and says how to see the rest', async () => {
    await using env = await setup();
    await writeFile(join(env.workingDir, 'long.txt'), 'line\n'.repeat(1_000));
    const result = await runEditor(
      env,
      { command: 'view', path: 'long.txt' },
      createFileEditorTool({ maxOutputChars: 500 }),
    );
    expect(textOf(result)).toMatch(/<response clipped>/);
    expect(textOf(result).length).toBeLessThan(800);
  });

  it('refuses paths outside the workspace and touches nothing there', async () => {
    await using env = await setup();
    const outsideFile = join(env.outside, 'notes.txt');
    await writeFile(outsideFile, 'original\n');
    await symlink(env.outside, join(env.workingDir, 'escape'));

    const attempts: Record<string, unknown>[] = [
      { command: 'create', path: '../outside/new.txt', file_text: 'x' },
      { command: 'create', path: join(env.outside, 'new.txt'), file_text: 'x' },
      { command: 'create', path: 'escape/new.txt', file_text: 'x' },
      { command: 'str_replace', path: outsideFile, old_str: 'original', new_str: 'changed' },
      { command: 'str_replace', path: 'escape/notes.txt', old_str: 'original', new_str: 'changed' },
      { command: 'insert', path: '../outside/notes.txt', insert_line: 0, new_str: 'changed' },
      { command: 'view', path: '../outside/notes.txt' },
      { command: 'view', path: '..' },
      { command: 'undo_edit', path: outsideFile },
    ];
    for (const args of attempts) {
      const result = await runEditor(env, args);
      expect(result.isError, JSON.stringify(args)).toBe(true);
      expect(textOf(result), JSON.stringify(args)).toMatch(/is outside the workspace/);
    }
    expect(await readdir(env.outside)).toEqual(['notes.txt']);
    expect(await readFile(outsideFile, 'utf8')).toBe('original\n');
  });

  it('masks secret values in observations and keeps them out of the undo history', async () => {
    await using env = await setup();
    const created = await runEditor(env, {
      command: 'create',
      path: '.env',
      file_text: `API_TOKEN=${SECRET}\n`,
    });
    const edited = await runEditor(env, {
      command: 'str_replace',
      path: '.env',
      old_str: 'API_TOKEN',
      new_str: 'TOKEN',
    });
    expect(JSON.stringify([created, edited])).not.toContain(SECRET);
    expect(edited.fields).toMatchObject({ old_content: 'API_TOKEN=<secret-hidden>\n' });

    const undo = await runEditor(env, { command: 'undo_edit', path: '.env' });
    expect(undo.isError).toBe(true);
    expect(textOf(undo)).toMatch(/held a secret value, so it was not kept/);
    for (const name of await env.store.list('file_edits')) {
      expect(await env.store.readText(`file_edits/${name}`)).not.toContain(SECRET);
    }
  });
});

describe('a conversation that writes, runs and fixes a program', { timeout: 30_000 }, () => {
  it('creates it with file_editor, runs it with terminal, fixes it with str_replace and finishes', async () => {
    await using directory = await createTemporaryDirectory({ prefix: 'ferry-e2e-' });
    const root = await realpath(directory.path);
    await using workspace = new LocalWorkspace({ workingDir: join(root, 'project') });
    const persistenceDir = join(root, 'conversations');
    const apiKey = 'sk-scripted-e2e-key-7c1d';
    const buggy = '#!/usr/bin/env bash\ngreet() {\n  echo "Hello, $1!"\n}\ngret "Ferry"\n';
    const fixed = buggy.replace('gret "Ferry"', 'greet "Ferry"');
    await using llm = await startScriptedLLMServer({
      script: [
        toolCall('file_editor', { command: 'create', path: 'greet.sh', file_text: buggy }),
        toolCall('terminal', { command: 'bash greet.sh' }),
        toolCall('file_editor', {
          command: 'str_replace',
          path: 'greet.sh',
          old_str: 'gret "Ferry"',
          new_str: 'greet "Ferry"',
        }),
        toolCall('terminal', { command: 'bash greet.sh', timeout: 60 }),
        toolCall('finish', { message: 'greet.sh prints "Hello, Ferry!".' }),
      ],
    });
    const agent = {
      llm: { model: 'scripted', base_url: llm.baseUrl, api_key: apiKey },
      tools: [{ name: 'terminal' }, { name: 'file_editor' }],
    };

    const conversation = await LocalConversation.open({
      agent,
      workspace,
      persistenceDir,
      onWarning: () => undefined,
    });
    await conversation.sendMessage(
      'Write greet.sh, a bash program that greets Ferry, and make sure it works.',
    );
    expect(await conversation.run()).toBe('finished');

    expect(await readFile(join(workspace.workingDir, 'greet.sh'), 'utf8')).toBe(fixed);
    const observations = observationsOf(conversation.events);
    expect(observations).toEqual([
      expect.objectContaining({
        kind: 'FileEditorObservation',
        is_error: false,
        text: `File created successfully at: ${workspace.workingDir}/greet.sh`,
      }),
      expect.objectContaining({
        kind: 'TerminalObservation',
        is_error: false,
        exit_code: 127,
        text: expect.stringMatching(/gret: command not found/) as unknown,
      }),
      expect.objectContaining({
        kind: 'FileEditorObservation',
        is_error: false,
        new_content: fixed,
        text: expect.stringContaining('     5\tgreet "Ferry"') as unknown,
      }),
      expect.objectContaining({
        kind: 'TerminalObservation',
        is_error: false,
        exit_code: 0,
        text: expect.stringMatching(/^Hello, Ferry!\n/) as unknown,
      }),
      expect.objectContaining({
        kind: 'FinishObservation',
        text: 'greet.sh prints "Hello, Ferry!".',
      }),
    ]);

    // The LLM was offered both tools and saw the error that led to the fix.
    const offered = llm.requests[0]?.tools?.map((tool) => tool.function?.name);
    expect(offered).toEqual(expect.arrayContaining(['terminal', 'file_editor']));
    const secondRun = JSON.stringify(llm.requests[2]?.messages);
    expect(secondRun).toContain('gret: command not found');
    await conversation.close();

    // The observations are durable, and no byte written holds the API key.
    const reopened = await LocalConversation.open({
      workspace,
      persistenceDir,
      conversationId: conversation.id,
      onWarning: () => undefined,
    });
    expect(observationsOf(reopened.events)).toEqual(observations);
    await reopened.close();
    for (const file of await readdir(persistenceDir, { recursive: true, withFileTypes: true })) {
      if (!file.isFile()) continue;
      expect(await readFile(join(file.parentPath, file.name), 'utf8'), file.name).not.toContain(
        apiKey,
      );
    }
  });
});

const textPartsSchema = z.array(z.object({ text: z.string() }));

/** The observations of a conversation, flattened for assertions. */
function observationsOf(events: Iterable<AnyEvent>) {
  return [...events].flatMap((event) => {
    if (event.kind !== 'ObservationEvent' || !('observation' in event)) return [];
    const { content, ...fields } = event.observation as Record<string, unknown>;
    return [
      {
        ...fields,
        text: textPartsSchema
          .parse(content)
          .map((part) => part.text)
          .join(''),
      },
    ];
  });
}
