import {
  createTemporaryDirectory,
  startScriptedLLMServer,
  text,
  toolCall,
  type ScriptTurn,
} from '@ferry/sdk-core/testing';
import { execFile } from 'node:child_process';
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConversationInfo } from '../schemas/conversation-schemas';
import type { FerryServer } from '../server';
import {
  allEvents,
  scriptedAgent,
  startTestServer,
  TEST_API_KEY,
  TEST_STORE,
  type TestClient,
  testClient,
  waitForStatus,
} from '../test-support';

const run = promisify(execFile);

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(script: readonly ScriptTurn[]) {
  const dir = await createTemporaryDirectory();
  cleanups.push(() => dir.remove());
  const llm = await startScriptedLLMServer({ script });
  cleanups.push(() => llm.close());
  const server: FerryServer = await startTestServer(cleanups, {
    secretKey: 'a-test-secret-key-of-enough-length',
  });
  const client: TestClient = testClient(server);
  const created = await client.request<ConversationInfo>('POST', '/api/conversations', {
    body: { agent: scriptedAgent(llm), secrets: { MY_TOKEN: 'tok-plaintext-123' } },
  });
  expect(created.status).toBe(201);
  return { dir, llm, server, client, id: created.body.id };
}

async function runToEnd(client: TestClient, id: string, message: string) {
  const sent = await client.request('POST', `/api/conversations/${id}/events`, {
    body: { role: 'user', content: [{ type: 'text', text: message }], run: true },
  });
  expect(sent.status).toBe(200);
  await waitForStatus(client, id, ['finished']);
}

describe('GET /api/conversations/{id}/agent_final_response', () => {
  it("answers '' before the agent spoke, then its last message, then the finish message", async () => {
    const { client, id } = await setup([
      text('A plain answer.'),
      toolCall('finish', { message: 'All done.' }),
    ]);
    const path = `/api/conversations/${id}/agent_final_response`;
    expect(await client.request('GET', path)).toEqual({ status: 200, body: { response: '' } });
    await runToEnd(client, id, 'first');
    expect((await client.request('GET', path)).body).toEqual({ response: 'A plain answer.' });
    await runToEnd(client, id, 'second');
    expect((await client.request('GET', path)).body).toEqual({ response: 'All done.' });
    const unknown = await client.request(
      'GET',
      `/api/conversations/${'0'.repeat(32)}/agent_final_response`,
    );
    expect(unknown.status).toBe(404);
  });
});

describe('GET /api/conversations/{id}/events (by id)', () => {
  it('answers the events in the order asked, null for unknown ids, from a body or the query', async () => {
    const { server, client, id } = await setup([text('hi')]);
    await runToEnd(client, id, 'hello');
    const events = await allEvents(client, id);
    const [first, second] = events;
    const ids = [second?.id ?? '', 'no-such-event', first?.id ?? ''];
    const fromBody = await server.app.inject({
      method: 'GET',
      url: `/api/conversations/${id}/events`,
      headers: { 'x-session-api-key': TEST_API_KEY, 'content-type': 'application/json' },
      payload: JSON.stringify(ids),
    });
    expect(fromBody.statusCode).toBe(200);
    expect(fromBody.json()).toEqual([second, null, first]);
    const query = ids.map((eventId) => `event_ids=${encodeURIComponent(eventId)}`).join('&');
    const fromQuery = await client.request('GET', `/api/conversations/${id}/events?${query}`);
    expect(fromQuery).toEqual({ status: 200, body: [second, null, first] });
    const none = await client.request('GET', `/api/conversations/${id}/events`);
    expect(none).toEqual({ status: 200, body: [] });
    const tooMany = Array.from({ length: 101 }, (_, index) => `event_ids=${index}`).join('&');
    expect((await client.request('GET', `/api/conversations/${id}/events?${tooMany}`)).status).toBe(
      422,
    );
  });
});

describe('POST /api/conversations/{id}/security_analyzer', () => {
  it('records the analyzer in the state and the log, and removes it with null', async () => {
    const { client, id } = await setup([]);
    const path = `/api/conversations/${id}/security_analyzer`;
    const set = await client.request('POST', path, {
      body: { security_analyzer: { kind: 'LLMSecurityAnalyzer' } },
    });
    expect(set).toEqual({ status: 200, body: { success: true } });
    const updates = (await allEvents(client, id)).filter(
      (event) => event.kind === 'ConversationStateUpdateEvent' && event.key === 'security_analyzer',
    );
    expect(updates.map((event) => event.value)).toEqual([{ kind: 'LLMSecurityAnalyzer' }]);
    expect((await client.request('POST', path, { body: { security_analyzer: null } })).status).toBe(
      200,
    );
    const last = (await allEvents(client, id)).at(-1);
    expect(last).toMatchObject({ key: 'security_analyzer', value: null });
    expect((await client.request('POST', path, { body: {} })).status).toBe(422);
  });
});

describe('GET /api/file/download-trajectory/{id}', () => {
  it('zips the conversation folder with its secrets redacted', async () => {
    const { dir, client, server, id } = await setup([text('hi')]);
    await runToEnd(client, id, 'hello');
    const response = await fetch(`${server.url}/api/file/download-trajectory/${id}`, {
      headers: { 'x-session-api-key': TEST_API_KEY },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/octet-stream');
    const zip = join(dir.path, 'trajectory.zip');
    await writeFile(zip, Buffer.from(await response.arrayBuffer()));
    const out = join(dir.path, 'unzipped');
    await run('python3', ['-m', 'zipfile', '-e', zip, out]);
    const folder = id.replaceAll('-', '');
    expect(await readdir(join(out, folder))).toEqual(
      // A folder also holds the context snapshot ("no condensation yet"); PostgreSQL keeps none.
      TEST_STORE === 'postgres'
        ? ['base_state.json', 'events']
        : ['base_state.json', 'context_snapshot.json', 'events'],
    );
    const state = await readFile(join(out, folder, 'base_state.json'), 'utf8');
    expect(JSON.parse(state)).toMatchObject({ id });
    expect(state).not.toContain('tok-plaintext-123');
    expect(state).not.toContain('sk-test-scripted-secret');
    const segments = await readdir(join(out, folder, 'events'));
    const logged = await readFile(join(out, folder, 'events', segments[0] ?? ''), 'utf8');
    expect(logged).toContain('"hello"');
    const unknown = await client.request('GET', `/api/file/download-trajectory/${'0'.repeat(32)}`);
    expect(unknown.status).toBe(404);
  });
});
