import { createTemporaryDirectory } from '@ferry/sdk-core/testing';
import type { TemporaryDirectory } from '@ferry/sdk-core/testing';
import type { FastifyInstance } from 'fastify';
import { mkdir, readdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bashRoutes } from './bash';
import type { BashCommand, BashEvent, BashEventPage, BashOutput } from './bash-event';
import { createRoutesApp } from './workspace-test-app';

let root: TemporaryDirectory;
let outside: TemporaryDirectory;
let app: FastifyInstance;

beforeEach(async () => {
  root = await createTemporaryDirectory();
  outside = await createTemporaryDirectory();
  app = await createRoutesApp({ workspaceRoot: root.path }, bashRoutes);
});

afterEach(async () => {
  await app.close();
  await root.remove();
  await outside.remove();
});

async function execute(body: object) {
  return app.inject({ method: 'POST', url: '/api/bash/execute_bash_command', payload: body });
}

async function start(body: object): Promise<BashCommand> {
  const response = await app.inject({
    method: 'POST',
    url: '/api/bash/start_bash_command',
    payload: body,
  });
  expect(response.statusCode).toBe(200);
  return response.json<BashCommand>();
}

async function search(query: Record<string, string>): Promise<BashEventPage> {
  const response = await app.inject({ method: 'GET', url: '/api/bash/bash_events/search', query });
  expect(response.statusCode).toBe(200);
  return response.json<BashEventPage>();
}

/** Polls the search route until the command's last output piece (with its exit code) is there. */
async function outputOf(commandId: string): Promise<BashOutput[]> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const { items } = await search({ command_id__eq: commandId });
    const pieces = items as BashOutput[];
    if (pieces.some((piece) => piece.exit_code !== null)) return pieces;
    await yieldToEventLoop();
  }
  throw new Error(`command ${commandId} did not finish`);
}

function joined(pieces: readonly BashOutput[], stream: 'stdout' | 'stderr'): string {
  return pieces.map((piece) => piece[stream] ?? '').join('');
}

describe('POST /api/bash/execute_bash_command', () => {
  it('runs in the workspace root and answers exit code, stdout and stderr as a BashOutput', async () => {
    await writeFile(join(root.path, 'here.txt'), 'in the root');
    const response = await execute({ command: 'cat here.txt; echo; echo oops >&2; exit 3' });
    expect(response.statusCode).toBe(200);
    const output = response.json<BashOutput>();
    expect(output).toMatchObject({
      kind: 'BashOutput',
      exit_code: 3,
      stdout: 'in the root\n',
      stderr: 'oops\n',
    });
    expect(typeof output.id).toBe('string');
    expect(Number.isNaN(Date.parse(output.timestamp))).toBe(false);

    const { items } = await search({ command_id__eq: output.command_id });
    expect(items.at(-1)).toEqual({ ...output });
    const { items: commands } = await search({ kind__eq: 'BashCommand' });
    expect(commands).toEqual([
      expect.objectContaining({
        kind: 'BashCommand',
        id: output.command_id,
        command: 'cat here.txt; echo; echo oops >&2; exit 3',
        cwd: root.path,
        timeout: 300,
      }),
    ]);
  });

  it('answers null for an empty stream and runs in a cwd given relative or absolute', async () => {
    await mkdir(join(root.path, 'sub', 'deeper'), { recursive: true });
    const relative = (await execute({ command: 'pwd', cwd: 'sub' })).json<BashOutput>();
    expect(relative).toMatchObject({ exit_code: 0, stdout: `${join(root.path, 'sub')}\n` });
    expect(relative.stderr).toBeNull();
    const absolute = await execute({ command: 'pwd', cwd: join(root.path, 'sub', 'deeper') });
    expect(absolute.json<BashOutput>().stdout).toBe(`${join(root.path, 'sub', 'deeper')}\n`);
  });

  it('kills a command past its timeout and answers exit code -1 with the output so far', async () => {
    const response = await execute({ command: 'echo started; sleep 100', timeout: 1 });
    expect(response.json<BashOutput>()).toMatchObject({ exit_code: -1, stdout: 'started\n' });
  });

  it('answers the whole output of a large command, recorded as ordered pieces', async () => {
    const output = (await execute({ command: 'seq 1 100000' })).json<BashOutput>();
    const lines = (output.stdout ?? '').trimEnd().split('\n');
    expect(lines).toHaveLength(100_000);
    expect(lines.at(-1)).toBe('100000');
    const pieces = await outputOf(output.command_id);
    expect(pieces.length).toBeGreaterThan(1);
    expect(pieces.map((piece) => piece.order)).toEqual(pieces.map((_, index) => index));
    expect(pieces.filter((piece) => piece.exit_code !== null)).toEqual([pieces.at(-1)]);
    expect(joined(pieces, 'stdout')).toBe(output.stdout);
  });

  it('refuses a cwd outside the workspace with 403, running and recording nothing', async () => {
    await symlink(outside.path, join(root.path, 'escape'));
    for (const cwd of ['..', outside.path, 'escape', 'escape/']) {
      const response = await execute({ command: 'touch ran-here', cwd });
      expect(response.statusCode).toBe(403);
      expect(response.json()).toMatchObject({ code: 'PATH_OUTSIDE_WORKSPACE' });
      expect(response.json<{ detail: string }>().detail).toContain('outside the workspace');
    }
    expect(await readdir(outside.path)).toEqual([]);
    expect((await search({})).items).toEqual([]);
  });

  it('answers 404 for a missing cwd and 400 for a cwd that is a file', async () => {
    const missing = await execute({ command: 'true', cwd: 'nowhere' });
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ code: 'WORKSPACE_FILE_ERROR' });
    await writeFile(join(root.path, 'file.txt'), '');
    const file = await execute({ command: 'true', cwd: 'file.txt' });
    expect(file.statusCode).toBe(400);
    expect(file.json()).toMatchObject({ code: 'WORKSPACE_FILE_ERROR' });
  });

  it('refuses a body without a command or with a timeout that is not a positive integer', async () => {
    for (const body of [{}, { command: 'true', timeout: 0 }, { command: 'true', timeout: 1.5 }]) {
      const response = await execute(body);
      expect(response.statusCode).toBe(422);
      expect(response.json()).toMatchObject({ code: 'VALIDATION_ERROR' });
    }
  });
});

describe('POST /api/bash/start_bash_command', () => {
  it('answers the BashCommand at once and records its output for search', async () => {
    const command = await start({ command: 'echo one; echo two >&2; exit 4', cwd: '.' });
    expect(command).toMatchObject({
      kind: 'BashCommand',
      command: 'echo one; echo two >&2; exit 4',
      cwd: root.path,
      timeout: 300,
    });
    const pieces = await outputOf(command.id);
    expect(joined(pieces, 'stdout')).toBe('one\n');
    expect(joined(pieces, 'stderr')).toBe('two\n');
    expect(pieces.at(-1)?.exit_code).toBe(4);
  });

  it('records a timed-out background command with exit code -1', async () => {
    const command = await start({ command: 'echo begun; sleep 100', timeout: 1 });
    const pieces = await outputOf(command.id);
    expect(pieces.at(-1)?.exit_code).toBe(-1);
    expect(joined(pieces, 'stdout')).toBe('begun\n');
  });

  it('refuses a cwd outside the workspace before starting anything', async () => {
    const response = await app.inject({
      method: 'POST',
      url: '/api/bash/start_bash_command',
      payload: { command: 'touch ran-here', cwd: outside.path },
    });
    expect(response.statusCode).toBe(403);
    expect((await search({})).items).toEqual([]);
    expect(await readdir(outside.path)).toEqual([]);
  });

  it('kills the commands still running when the server closes', async () => {
    await start({ command: 'sleep 100' });
    // Closing waits for the command to be recorded as ended, so this returns only if it was killed.
    await app.close();
  });
});

describe('bash events', () => {
  it('filters by kind, command and order, and sorts both ways', async () => {
    const first = (await execute({ command: 'echo first' })).json<BashOutput>();
    const second = (await execute({ command: 'echo second' })).json<BashOutput>();

    const all = (await search({})).items;
    expect(all.map((event) => event.kind)).toEqual([
      'BashCommand',
      'BashOutput',
      'BashCommand',
      'BashOutput',
    ]);
    expect((await search({ sort_order: 'TIMESTAMP_DESC' })).items).toEqual([...all].reverse());
    expect((await search({ kind__eq: 'BashOutput' })).items).toEqual([first, second]);
    expect((await search({ command_id__eq: second.command_id })).items).toEqual([second]);
    expect((await search({ command_id__eq: first.command_id, order__gt: '0' })).items).toEqual([]);
    expect((await search({ timestamp__gte: '2999-01-01T00:00:00' })).items).toEqual([]);
    expect((await search({ timestamp__lt: '2999-01-01T00:00:00Z' })).items).toHaveLength(4);
  });

  it('pages with next_page_id, in both orders', async () => {
    for (const word of ['a', 'b', 'c']) await execute({ command: `echo ${word}` });
    const all = (await search({})).items;
    expect(all).toHaveLength(6);
    for (const sort_order of ['TIMESTAMP', 'TIMESTAMP_DESC']) {
      const seen: BashEvent[] = [];
      let page = await search({ sort_order, limit: '4' });
      seen.push(...page.items);
      expect(page.items).toHaveLength(4);
      expect(page.next_page_id).not.toBeNull();
      page = await search({ sort_order, limit: '4', page_id: page.next_page_id ?? '' });
      seen.push(...page.items);
      expect(page.next_page_id).toBeNull();
      expect(seen).toEqual(sort_order === 'TIMESTAMP' ? all : [...all].reverse());
    }
  });

  it('refuses a malformed search', async () => {
    const invalid: Record<string, string>[] = [
      { kind__eq: 'BashError' },
      { limit: '0' },
      { limit: '101' },
      { timestamp__gte: 'yesterday' },
      { page_id: 'not-a-page' },
      { sort_order: 'SIDEWAYS' },
    ];
    for (const query of invalid) {
      const response = await app.inject({
        method: 'GET',
        url: '/api/bash/bash_events/search',
        query,
      });
      expect(response.statusCode).toBe(422);
      expect(response.json()).toMatchObject({ code: 'VALIDATION_ERROR' });
    }
  });

  it('gets one event by id (404 when unknown) and a batch by ids in a GET body', async () => {
    const output = (await execute({ command: 'echo hi' })).json<BashOutput>();
    const one = await app.inject({ method: 'GET', url: `/api/bash/bash_events/${output.id}` });
    expect(one.json()).toEqual(output);

    const unknown = await app.inject({ method: 'GET', url: '/api/bash/bash_events/nope' });
    expect(unknown.statusCode).toBe(404);
    expect(unknown.json()).toMatchObject({ code: 'BASH_EVENT_NOT_FOUND' });

    const batch = await app.inject({
      method: 'GET',
      url: '/api/bash/bash_events/',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify([output.id, 'nope', output.command_id]),
    });
    expect(batch.statusCode).toBe(200);
    const [found, missing, command] = batch.json<(BashEvent | null)[]>();
    expect(found).toEqual(output);
    expect(missing).toBeNull();
    expect(command).toMatchObject({ kind: 'BashCommand', id: output.command_id });

    const malformed = await app.inject({
      method: 'GET',
      url: '/api/bash/bash_events/',
      headers: { 'content-type': 'application/json' },
      payload: '[1, 2]',
    });
    expect(malformed.statusCode).toBe(422);
    expect(malformed.json()).toMatchObject({ code: 'VALIDATION_ERROR' });
    const notJson = await app.inject({
      method: 'GET',
      url: '/api/bash/bash_events/',
      headers: { 'content-type': 'application/json' },
      payload: '[',
    });
    expect(notJson.statusCode).toBe(400);
    expect(notJson.json()).toMatchObject({ code: 'INVALID_JSON' });
  });

  it('clears every event on DELETE, with or without an empty JSON body', async () => {
    await execute({ command: 'true' });
    const cleared = await app.inject({
      method: 'DELETE',
      url: '/api/bash/bash_events',
      headers: { 'content-type': 'application/json' },
    });
    expect(cleared.statusCode).toBe(200);
    expect(cleared.json()).toEqual({ cleared_count: 2 });
    expect((await search({})).items).toEqual([]);
    const again = await app.inject({ method: 'DELETE', url: '/api/bash/bash_events' });
    expect(again.json()).toEqual({ cleared_count: 0 });
  });

  it('keeps only the newest events past the bound', async () => {
    const bounded = await createRoutesApp({ workspaceRoot: root.path, maxEvents: 3 }, bashRoutes);
    try {
      for (const word of ['a', 'b', 'c']) {
        await bounded.inject({
          method: 'POST',
          url: '/api/bash/execute_bash_command',
          payload: { command: `echo ${word}` },
        });
      }
      const { items } = (
        await bounded.inject({ method: 'GET', url: '/api/bash/bash_events/search' })
      ).json<BashEventPage>();
      expect(items.map((event) => event.kind)).toEqual(['BashOutput', 'BashCommand', 'BashOutput']);
      expect(items.map((event) => (event.kind === 'BashOutput' ? event.stdout : null))).toEqual([
        'b\n',
        null,
        'c\n',
      ]);
    } finally {
      await bounded.close();
    }
  });
});
