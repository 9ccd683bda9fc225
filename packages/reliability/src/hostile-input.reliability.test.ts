import { randomUUID } from 'node:crypto';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTemporaryDirectory, type TemporaryDirectory } from '@ferry/sdk-core/testing';
import { startServer, type FerryServer } from '@ferry/server';
import { diskState } from './hostile-client';
import { serverStore, type ServerStore } from './reliability-store';

const API_KEY = 'hostile-input-key';
const BODY_LIMIT = 64 * 1024;

let dir: TemporaryDirectory;
let server: FerryServer;
let store: ServerStore;
let inputsTried = 0;

/**
 * Every file under the data dir, the workspace root and a folder beside them, hashed, and on
 * PostgreSQL every row of the server's database.
 */
async function diskStateHere(): Promise<Record<string, string>> {
  const files = await diskState(
    ['data', 'workspaces', 'outside'].map((root) => join(dir.path, root)),
  );
  return { ...files, '(database rows)': await store.rows() };
}

interface Attempt {
  method: string;
  path: string;
  body?: string | Uint8Array | FormData;
  contentType?: string;
  apiKey?: string | null;
}

async function send(attempt: Attempt): Promise<number> {
  inputsTried += 1;
  const headers: Record<string, string> = {};
  if (attempt.apiKey !== null) headers['X-Session-API-Key'] = attempt.apiKey ?? API_KEY;
  if (attempt.contentType !== undefined) headers['content-type'] = attempt.contentType;
  const response = await fetch(`${server.url}${attempt.path}`, {
    method: attempt.method,
    headers,
    ...(attempt.body !== undefined ? { body: attempt.body } : {}),
  });
  await response.arrayBuffer();
  return response.status;
}

/** Sends the attempt and checks it gets a 4xx and leaves the disk as it was. */
async function expectRefused(attempt: Attempt): Promise<number> {
  const before = await diskStateHere();
  const status = await send(attempt);
  expect(status, `${attempt.method} ${attempt.path.slice(0, 80)}`).toBeGreaterThanOrEqual(400);
  expect(status, `${attempt.method} ${attempt.path.slice(0, 80)}`).toBeLessThan(500);
  expect(await diskStateHere()).toEqual(before);
  return status;
}

const json = (method: string, path: string, body: string): Attempt => ({
  method,
  path,
  body,
  contentType: 'application/json',
});

beforeAll(async () => {
  dir = await createTemporaryDirectory();
  for (const folder of ['data', 'workspaces', 'outside']) await mkdir(join(dir.path, folder));
  await writeFile(join(dir.path, 'outside', 'secret.txt'), 'outside the workspace root\n');
  await mkdir(join(dir.path, 'workspaces', 'project'));
  await symlink(join(dir.path, 'outside'), join(dir.path, 'workspaces', 'project', 'escape'));
  store = await serverStore('hostile_input');
  server = await startServer({
    port: 0,
    dataDir: join(dir.path, 'data'),
    workspaceRoot: join(dir.path, 'workspaces'),
    apiKey: API_KEY,
    bodyLimit: BODY_LIMIT,
    ...store.options,
  });
});
afterAll(async () => {
  console.info(
    `hostile input: ${inputsTried} requests tried, every one a 4xx with the disk unchanged`,
  );
  await server?.close();
  await store?.drop();
  await dir?.[Symbol.asyncDispose]();
});

describe('hostile input: a 4xx and nothing changed on disk', () => {
  const conversation = randomUUID();

  it.each([
    ['malformed JSON', json('POST', '/api/conversations', '{"agent": ')],
    ['oversized JSON', json('POST', '/api/conversations', `{"x":"${'a'.repeat(BODY_LIMIT * 2)}"}`)],
    [
      'deep nesting',
      json('POST', '/api/conversations', `${'['.repeat(50_000)}${']'.repeat(50_000)}`),
    ],
    [
      'deep object nesting',
      json('POST', '/api/conversations', `${'{"a":'.repeat(5_000)}1${'}'.repeat(5_000)}`),
    ],
    ['wrong types', json('POST', '/api/conversations', '{"agent": 5, "workspace": "x"}')],
    [
      'an agent without an LLM',
      json('POST', '/api/conversations', '{"agent": {"kind": "Agent", "tools": "all"}}'),
    ],
    [
      'an agent of an unknown kind',
      json('POST', '/api/conversations', '{"agent": {"kind": "EvilAgent", "llm": {"model": "m"}}}'),
    ],
    [
      'a condenser of an unknown kind',
      json(
        'POST',
        '/api/conversations',
        '{"agent": {"kind": "Agent", "llm": {"model": "m"}, "condenser": {"kind": "Shredder"}}}',
      ),
    ],
    [
      'a confirmation policy of an unknown kind',
      json(
        'POST',
        '/api/conversations',
        '{"agent": {"kind": "Agent", "llm": {"model": "m"}}, "confirmation_policy": {"kind": "Yolo"}}',
      ),
    ],
    ['a JSON array', json('POST', '/api/conversations', '[1,2,3]')],
    ['a JSON null', json('POST', '/api/conversations', 'null')],
    [
      'invalid UTF-8',
      {
        method: 'POST',
        path: '/api/conversations',
        body: new Uint8Array([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xc3, 0x22, 0x7d]),
        contentType: 'application/json',
      },
    ],
    ['no API key', { ...json('POST', '/api/conversations', '{}'), apiKey: null }],
    ['a wrong API key', { ...json('POST', '/api/conversations', '{}'), apiKey: 'guess' }],
    [
      'a message to a missing conversation',
      json('POST', `/api/conversations/${conversation}/events`, '{"role":"user","content":[]}'),
    ],
    ['a malformed message', json('POST', `/api/conversations/${conversation}/events`, '{"role":')],
    [
      'a huge event id',
      { method: 'GET', path: `/api/conversations/${conversation}/events/${'e'.repeat(60_000)}` },
    ],
    [
      'a conversation id that is not a UUID',
      { method: 'GET', path: '/api/conversations/..%2F..%2Fetc' },
    ],
    [
      'download with ..',
      {
        method: 'GET',
        path: `/api/file/download?path=${encodeURIComponent('../outside/secret.txt')}`,
      },
    ],
    [
      'download with an absolute path',
      { method: 'GET', path: `/api/file/download?path=${encodeURIComponent('/etc/passwd')}` },
    ],
    [
      'download through a symlink',
      {
        method: 'GET',
        path: `/api/file/download?path=${encodeURIComponent('project/escape/secret.txt')}`,
      },
    ],
  ] satisfies [string, Attempt][])('%s', async (_name, attempt) => {
    await expectRefused(attempt);
  });

  it.each([
    ['..', '../outside/planted.txt'],
    ['an absolute path', join('/tmp', `ferry-planted-${randomUUID()}.txt`)],
    ['a symlink', 'project/escape/planted.txt'],
  ])('upload with %s', async (_name, path) => {
    const form = new FormData();
    form.set('file', new Blob(['planted']), 'planted.txt');
    await expectRefused({
      method: 'POST',
      path: `/api/file/upload?path=${encodeURIComponent(path)}`,
      body: form,
    });
  });

  it('any JSON value as a start request: a 4xx, nothing written (fast-check)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 6 }), async (value) => {
        await expectRefused(json('POST', '/api/conversations', JSON.stringify(value)));
      }),
      { numRuns: 150 },
    );
  });

  it('any JSON value as a message to a missing conversation: a 4xx, nothing written', async () => {
    await fc.assert(
      fc.asyncProperty(fc.jsonValue({ maxDepth: 4 }), async (value) => {
        await expectRefused(
          json('POST', `/api/conversations/${conversation}/events`, JSON.stringify(value)),
        );
      }),
      { numRuns: 100 },
    );
  });
});
