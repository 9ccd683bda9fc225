import {
  createTemporaryDirectory,
  httpError,
  openHandsModelProblems,
  openHandsReferenceModel,
  openHandsReferenceModels,
  startScriptedLLMServer,
  text,
  toolCall,
} from '@ferry/sdk-core/testing';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import type { ConversationInfo } from './schemas/conversation-schemas';
import type { FerryServer } from './server';
import {
  type EventBody,
  type EventPageBody,
  scriptedAgent,
  startTestServer,
  TEST_API_KEY,
  type TestClient,
  testClient,
  waitForStatus,
} from './test-support';

const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Every frame a socket receives until it has `count` of them, and then the socket closed. */
async function socketFrames(server: FerryServer, path: string, count: number, send?: string) {
  const socket = new WebSocket(`${server.url.replace('http', 'ws')}${path}`, {
    headers: { 'X-Session-API-Key': TEST_API_KEY },
  });
  const frames: Record<string, unknown>[] = [];
  socket.on('message', (data: Buffer) =>
    frames.push(JSON.parse(data.toString('utf8')) as Record<string, unknown>),
  );
  if (send !== undefined) socket.on('open', () => socket.send(send));
  try {
    await vi.waitFor(() => expect(frames.length).toBeGreaterThanOrEqual(count), {
      timeout: 20_000,
      interval: 10,
    });
    return frames;
  } finally {
    socket.terminate();
  }
}

async function search(client: TestClient, id: string, query = ''): Promise<EventBody[]> {
  const page = await client.request<EventPageBody>(
    'GET',
    `/api/conversations/${id}/events/search?limit=100${query}`,
  );
  return page.body.items;
}

/**
 * A conversation that went through every kind of event the server writes: messages both ways,
 * each built-in tool, an unknown tool, a failed LLM call, a rejected action, a condensation and
 * a pause.
 */
async function busyConversation(client: TestClient, agent: Record<string, unknown>) {
  const created = await client.request<ConversationInfo>('POST', '/api/conversations', {
    body: {
      agent,
      initial_message: { content: [{ type: 'text', text: 'Do everything.' }], run: true },
    },
  });
  const id = created.body.id;
  const send = (message: string, run = true) =>
    client.request('POST', `/api/conversations/${id}/events`, {
      body: { role: 'user', content: [{ type: 'text', text: message }], run },
    });
  await waitForStatus(client, id, ['finished']);
  await send('Now fail.');
  await waitForStatus(client, id, ['error']);
  await client.request('POST', `/api/conversations/${id}/confirmation_policy`, {
    body: { policy: { kind: 'AlwaysConfirm' } },
  });
  await send('Ask first.');
  await waitForStatus(client, id, ['waiting_for_confirmation']);
  await client.request('POST', `/api/conversations/${id}/events/respond_to_confirmation`, {
    body: { accept: false, reason: 'not now' },
  });
  await client.request('POST', `/api/conversations/${id}/condense`);
  await client.request('POST', `/api/conversations/${id}/pause`);
  await send('A last word.', false);
  return id;
}

describe("events on OpenHands' routes and sockets", () => {
  let server: FerryServer;
  let client: TestClient;
  let id: string;

  beforeAll(async () => {
    // Python parses the reference archive once: seconds on a busy machine.
    openHandsReferenceModels();
    const dir = await createTemporaryDirectory();
    cleanups.push(() => dir.remove());
    const llm = await startScriptedLLMServer({
      script: [
        toolCall('task_tracker', {
          command: 'plan',
          task_list: [{ title: 'all', status: 'todo' }],
        }),
        toolCall('terminal', { command: 'echo hi' }),
        toolCall('file_editor', { command: 'create', path: 'a.txt', file_text: 'a\n' }),
        toolCall('think', { thought: 'Going well.' }),
        toolCall('no_such_tool', {}),
        text('Everything is done.', { reasoning: 'It all worked.' }),
        httpError(400, { message: 'bad request' }),
        toolCall('terminal', { command: 'echo held' }),
        text('A summary of what happened.'),
      ],
      onExhausted: toolCall('finish', { message: 'done' }),
    });
    cleanups.push(() => llm.close());
    server = await startTestServer(cleanups, {
      dataDir: join(dir.path, 'data'),
      workspaceRoot: join(dir.path, 'workspaces'),
    });
    client = testClient(server);
    const agent = scriptedAgent(llm, {
      tools: ['terminal', 'file_editor', 'task_tracker', 'think'],
    });
    id = await busyConversation(client, { ...agent, llm: { ...agent.llm, num_retries: 0 } });
  }, 120_000);

  it('validate against the field lists of the reference models, for every kind served', async () => {
    const events = await search(client, id);
    const kinds = new Set(events.map((event) => event.kind));
    expect([...kinds].sort()).toEqual(
      [
        'ActionEvent',
        'AgentErrorEvent',
        'Condensation',
        'ConversationErrorEvent',
        'ConversationStateUpdateEvent',
        'MessageEvent',
        'ObservationEvent',
        'PauseEvent',
        'UserRejectObservation',
      ].sort(),
    );
    const ids = events.map((event) => event.id);
    const single = await Promise.all(
      ids.map(async (eventId) => {
        const answer = await client.request<EventBody>(
          'GET',
          `/api/conversations/${id}/events/${eventId}`,
        );
        return answer.body;
      }),
    );
    const batch = await client.request<(EventBody | null)[]>(
      'GET',
      `/api/conversations/${id}/events?${ids.map((eventId) => `event_ids=${eventId}`).join('&')}`,
    );
    const socket = await socketFrames(
      server,
      `/sockets/events/${id}?resend_mode=all`,
      events.length + 2,
      '{"junk":true}',
    );
    expect(socket.map((frame) => frame.kind)).toEqual(
      expect.arrayContaining(['ServerErrorEvent', 'ConversationStateUpdateEvent']),
    );
    for (const [where, served] of [
      ['search', events],
      ['get', single],
      ['batch', batch.body],
      ['socket', socket],
    ] as const) {
      expect(served.length, where).toBeGreaterThanOrEqual(events.length);
      for (const event of served) {
        expect(openHandsModelProblems(event), `${where}: ${JSON.stringify(event)}`).toEqual([]);
      }
    }
    expect(single).toEqual(events);
    expect(batch.body).toEqual(events);
  });

  it("keep Ferry's own fields for a client that asks for them", async () => {
    const plain = JSON.stringify(await search(client, id));
    for (const field of ['"llm_provider"', '"reasoning_parts"', '"changes"']) {
      expect(plain).not.toContain(field);
    }
    const byQuery = await search(client, id, '&ferry_events=full');
    const byHeader = await client.request<EventPageBody>(
      'GET',
      `/api/conversations/${id}/events/search?limit=100`,
      { headers: { 'X-Ferry-Events': 'full' } },
    );
    expect(byHeader.body.items).toEqual(byQuery);
    const full = JSON.stringify(byQuery);
    for (const field of ['"llm_provider"', '"reasoning_parts"']) {
      expect(full).toContain(field);
    }
    const socket = await socketFrames(
      server,
      `/sockets/events/${id}?resend_mode=all&ferry_events=full`,
      byQuery.length + 1,
    );
    expect(socket.slice(1)).toEqual(byQuery);
  });

  it('send each subscriber the state first, as OpenHands models it', async () => {
    const info = await client.request<ConversationInfo>('GET', `/api/conversations/${id}`);
    const [snapshot, ...rest] = await socketFrames(server, `/sockets/events/${id}`, 1);
    expect(rest).toEqual([]);
    expect(snapshot).toMatchObject({
      kind: 'ConversationStateUpdateEvent',
      source: 'environment',
      key: 'full_state',
      value: { id, execution_status: info.body.execution_status },
    });
    expect(openHandsModelProblems(snapshot)).toEqual([]);
    const stateFields = new Set(openHandsReferenceModel('ConversationState').fields);
    const value = (snapshot?.value ?? {}) as Record<string, unknown>;
    expect(Object.keys(value).filter((field) => !stateFields.has(field))).toEqual([]);
    expect(JSON.stringify(value)).not.toContain('sk-test-scripted-secret');

    const [full] = await socketFrames(server, `/sockets/events/${id}?ferry_events=full`, 1);
    expect(full).toMatchObject({
      key: 'full_state',
      value: { created_at: expect.any(String) as unknown },
    });
  });
});
