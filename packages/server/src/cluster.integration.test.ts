import { PostgresStore } from '@ferry/store-postgres';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { finishedOn, userMessage, useReplicas } from './cluster-test-support';
import type { ConversationInfo } from './schemas/conversation-schemas';
import { TEST_API_KEY, allEvents, scriptedAgent, waitForStatus } from './test-support';

const { databaseUrl, newServer, scriptedLLM, onCleanup } = useReplicas('server_cluster');

/** An events socket on `url`; resolves with the first frame, and `closed` with how it closed. */
async function openEventsSocket(url: string, id: string) {
  const socket = new WebSocket(
    `${url.replace('http', 'ws')}/sockets/events/${id}?resend_mode=all&session_api_key=${TEST_API_KEY}`,
  );
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
  });
  onCleanup(async () => {
    socket.terminate();
    await closed;
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('message', () => resolve());
    socket.once('error', reject);
  });
  return { socket, closed };
}

/** A conversation created on `replica`, its first message run to `finished`; its id. */
describe('ferry-server replicas on one PostgreSQL', () => {
  it('answers every route for a conversation another replica runs', async () => {
    const llm = await scriptedLLM();
    const a = await newServer(databaseUrl());
    const b = await newServer(databaseUrl());
    const created = await a.client.request<ConversationInfo>('POST', '/api/conversations', {
      body: { agent: scriptedAgent(llm) },
    });
    expect(created.status).toBe(201);
    const id = created.body.id;
    // Held by A: B forwards the message (and the run) to it.
    const sent = await b.client.request('POST', `/api/conversations/${id}/events`, {
      body: userMessage('hello from b', true),
    });
    expect(sent.status).toBe(200);
    await waitForStatus(b.client, id, ['finished']);
    expect(await allEvents(b.client, id)).toEqual(await allEvents(a.client, id));
    const renamed = await b.client.request('PATCH', `/api/conversations/${id}`, {
      body: { title: 'renamed on b' },
    });
    expect(renamed.status).toBe(200);
    const seen = await a.client.request<ConversationInfo>('GET', `/api/conversations/${id}`);
    expect(seen.body.title).toBe('renamed on b');
    const counted = await b.client.request<number>('GET', '/api/conversations/count');
    expect(counted.body).toBeGreaterThanOrEqual(1);
    expect((await b.client.request('DELETE', `/api/conversations/${id}`)).status).toBe(200);
    expect((await a.client.request('GET', `/api/conversations/${id}`)).status).toBe(404);
  });

  it('closes the events sockets of a deleted conversation with 4004 on every replica', async () => {
    const llm = await scriptedLLM();
    const a = await newServer(databaseUrl());
    const b = await newServer(databaseUrl());
    const id = await finishedOn(a, scriptedAgent(llm));
    // One socket on the runner, one on the other replica (following the database).
    const onA = await openEventsSocket(a.server.url, id);
    const onB = await openEventsSocket(b.server.url, id);
    expect((await a.client.request('DELETE', `/api/conversations/${id}`)).status).toBe(200);
    expect(await onA.closed).toMatchObject({ code: 4004 });
    expect(await onB.closed).toEqual({ code: 4004, reason: 'Conversation deleted' });
  });

  it('closes a socket on another replica as replaced (1001), not deleted, when an import overwrites the conversation', async () => {
    const llm = await scriptedLLM();
    const a = await newServer(databaseUrl());
    const b = await newServer(databaseUrl());
    const id = await finishedOn(a, scriptedAgent(llm));
    const exported = await fetch(`${a.server.url}/api/conversations/${id}/export`, {
      headers: { 'x-session-api-key': TEST_API_KEY },
    });
    const bundle = new Uint8Array(await exported.arrayBuffer());
    const onB = await openEventsSocket(b.server.url, id);
    const imported = await fetch(`${a.server.url}/api/conversations/import?overwrite=true`, {
      method: 'POST',
      headers: { 'x-session-api-key': TEST_API_KEY, 'content-type': 'application/gzip' },
      body: bundle,
    });
    expect(imported.status).toBe(201);
    expect(await onB.closed).toEqual({ code: 1001, reason: 'conversation replaced' });
    expect((await b.client.request('GET', `/api/conversations/${id}`)).status).toBe(200);
  });

  it("shares the server's settings, secrets and profiles: written on one, read on another", async () => {
    const secretKey = 'a-cluster-secret-key-of-enough-length';
    const a = await newServer(databaseUrl(), secretKey);
    const b = await newServer(databaseUrl(), secretKey);
    const key = 'sk-cluster-profile-key-never-stored';
    await a.client.request('PUT', '/api/settings/secrets', { body: { name: 'TOKEN', value: key } });
    await a.client.request('POST', '/api/profiles/shared', {
      body: { llm: { model: 'shared-model', api_key: key } },
    });
    await b.client.request('POST', '/api/profiles/shared/activate');
    await a.client.request('PATCH', '/api/settings', {
      body: { misc_settings_diff: { written_by: 'a' } },
    });
    expect((await b.client.request('GET', '/api/settings/secrets')).body).toEqual({
      secrets: [{ name: 'TOKEN', description: null }],
    });
    const settings = await b.client.request('GET', '/api/settings');
    expect(settings.body).toMatchObject({
      agent_settings: { llm: { model: 'shared-model', api_key: null } },
      llm_api_key_is_set: true,
      active_profile: 'shared',
      misc_settings: { written_by: 'a' },
    });
    expect((await a.client.request('GET', '/api/settings')).body).toEqual(settings.body);
    // In the database, the key is only there encrypted.
    const store = await PostgresStore.connect({ connectionString: databaseUrl() });
    try {
      const stored = await store.readDocument('server-settings');
      expect(stored).toContain('shared-model');
      expect(stored).not.toContain(key);
    } finally {
      await store.close();
    }
  });

  it('imports a teleported bundle on any replica: the others read and run it', async () => {
    const llm = await scriptedLLM();
    const laptop = await newServer();
    const a = await newServer(databaseUrl());
    const b = await newServer(databaseUrl());
    const created = await laptop.client.request<ConversationInfo>('POST', '/api/conversations', {
      body: {
        agent: scriptedAgent(llm),
        initial_message: { content: [{ type: 'text', text: 'start here' }], run: true },
      },
    });
    const id = created.body.id;
    await waitForStatus(laptop.client, id, ['finished']);
    const exported = await fetch(`${laptop.server.url}/api/conversations/${id}/export`, {
      headers: { 'x-session-api-key': TEST_API_KEY },
    });
    const bundle = new Uint8Array(await exported.arrayBuffer());
    const imported = await fetch(`${b.server.url}/api/conversations/import`, {
      method: 'POST',
      headers: { 'x-session-api-key': TEST_API_KEY, 'content-type': 'application/gzip' },
      body: bundle,
    });
    expect(imported.status).toBe(201);
    // A has no files of it: what it reads comes from PostgreSQL.
    expect(await allEvents(a.client, id)).toEqual(await allEvents(laptop.client, id));
    const sent = await a.client.request('POST', `/api/conversations/${id}/events`, {
      body: userMessage('go on in the cluster', true),
    });
    expect(sent.status).toBe(200);
    await waitForStatus(a.client, id, ['finished']);
    const events = await allEvents(b.client, id);
    expect(events.length).toBeGreaterThan((await allEvents(laptop.client, id)).length);
  });
});
