import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ConversationInfo } from '../schemas/conversation-schemas';
import type { FerryServer } from '../server';
import { useTestServers } from './bundle-test-servers';
import { TEST_API_KEY, scriptedAgent, waitForStatus } from '../test-support';

const { newServer, scriptedLLM } = useTestServers();

const headers = { 'x-session-api-key': TEST_API_KEY };

async function exportWith(server: FerryServer, id: string, base?: unknown): Promise<Response> {
  return fetch(`${server.url}/api/conversations/${id}/export`, {
    ...(base === undefined
      ? { headers }
      : {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json' },
          body: JSON.stringify({ base }),
        }),
  });
}

async function importInto(
  server: FerryServer,
  bundle: Uint8Array,
): Promise<{ status: number; body: { code?: string; manifest?: { version: number } } }> {
  const response = await fetch(`${server.url}/api/conversations/import`, {
    method: 'POST',
    headers: { ...headers, 'content-type': 'application/gzip' },
    body: bundle,
  });
  return { status: response.status, body: (await response.json()) as never };
}

function segmentDir(server: FerryServer, id: string): string {
  return join(server.dataDir, 'conversations', id.replaceAll('-', ''), 'events');
}

async function segments(server: FerryServer, id: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const name of await readdir(segmentDir(server, id))) {
    files[name] = await readFile(join(segmentDir(server, id), name), 'utf8');
  }
  return files;
}

/** `a` runs a conversation; `b` holds a copy of it, parked (it went back to `a`). */
async function twoCopies() {
  const llm = await scriptedLLM();
  const a = await newServer();
  const b = await newServer();
  const created = await a.client.request<ConversationInfo>('POST', '/api/conversations', {
    body: {
      agent: scriptedAgent(llm),
      initial_message: { content: [{ type: 'text', text: 'first leg' }], run: true },
    },
  });
  const id = created.body.id;
  await waitForStatus(a.client, id, ['finished']);
  const full = new Uint8Array(await (await exportWith(a.server, id)).arrayBuffer());
  expect((await importInto(b.server, full)).status).toBe(201);
  await b.client.request('POST', `/api/conversations/${id}/mark_teleported`, {
    body: { to: a.server.url },
  });
  // More happens on `a`.
  await a.client.request('POST', `/api/conversations/${id}/events`, {
    body: { content: [{ type: 'text', text: 'second leg' }], run: true },
  });
  await waitForStatus(a.client, id, ['finished']);
  return { a, b, id };
}

async function baseOf(server: FerryServer, id: string): Promise<unknown> {
  const response = await fetch(`${server.url}/api/conversations/${id}/bundle_base`, { headers });
  expect(response.status).toBe(200);
  return ((await response.json()) as { base: unknown }).base;
}

describe('delta bundle routes', () => {
  it('describe a copy, export only what it lacks, and import it on top', async () => {
    const { a, b, id } = await twoCopies();
    const response = await exportWith(a.server, id, await baseOf(b.server, id));
    expect(response.status).toBe(200);
    expect(response.headers.get('x-ferry-base-refused')).toBeNull();
    // Sizes are asserted where histories are long (sdk-core and workspace-remote tests).
    const delta = new Uint8Array(await response.arrayBuffer());

    const imported = await importInto(b.server, delta);
    expect(imported.status).toBe(201);
    expect(imported.body.manifest?.version).toBe(2);
    expect(await segments(b.server, id)).toEqual(await segments(a.server, id));

    const missing = await fetch(
      `${b.server.url}/api/conversations/0123456789abcdef0123456789abcdef/bundle_base`,
      { headers },
    );
    expect(missing.status).toBe(404);
  });

  it('send the whole conversation for a diverged copy, and refuse a delta whose base changed', async () => {
    const { a, b, id } = await twoCopies();
    const base = await baseOf(b.server, id);
    const delta = new Uint8Array(await (await exportWith(a.server, id, base)).arrayBuffer());

    // The copy on `b` is edited after it described itself.
    const file = join(segmentDir(b.server, id), 'segment-000001.jsonl');
    const original = await readFile(file, 'utf8');
    await writeFile(file, original.replace('first leg', 'first lag'));
    const before = await segments(b.server, id);
    const refused = await importInto(b.server, delta);
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('BUNDLE_BASE_MISMATCH');
    expect(await segments(b.server, id)).toEqual(before);

    // Described again, it is not a prefix any more: the whole conversation comes.
    const whole = await exportWith(a.server, id, await baseOf(b.server, id));
    expect(decodeURIComponent(whole.headers.get('x-ferry-base-refused') ?? '')).toMatch(/differs/);
    const replaced = await importInto(b.server, new Uint8Array(await whole.arrayBuffer()));
    expect(replaced.status).toBe(201);
    expect(replaced.body.manifest?.version).toBe(1);
    expect(await segments(b.server, id)).toEqual(await segments(a.server, id));
  });
});
