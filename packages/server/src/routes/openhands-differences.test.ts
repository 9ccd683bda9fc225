import {
  openHandsReferenceModel,
  startScriptedLLMServer,
  text,
  toolCall,
  type ScriptTurn,
  type ScriptedLLMServer,
} from '@ferry/sdk-core/testing';
import { toOpenHandsEvent } from '@ferry/sdk-core';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ConversationInfo } from '../schemas/conversation-schemas';
import type { FerryServer } from '../server';
import {
  TEST_API_KEY,
  allEvents,
  scriptedAgent,
  startTestServer,
  testClient,
  waitForStatus,
  type TestClient,
} from '../test-support';

/** What a client of OpenHands' agent-server sees, and must see the same from Ferry (issue #16). */

interface Setup {
  llm: ScriptedLLMServer;
  server: FerryServer;
  client: TestClient;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(script: readonly ScriptTurn[] = []): Promise<Setup> {
  const llm = await startScriptedLLMServer({ script });
  cleanups.push(() => llm.close());
  const server = await startTestServer(cleanups);
  return { llm, server, client: testClient(server) };
}

async function create(
  { client, llm }: Setup,
  extra: Record<string, unknown> = {},
): Promise<ConversationInfo> {
  const { status, body } = await client.request<ConversationInfo>('POST', '/api/conversations', {
    body: { agent: scriptedAgent(llm), workspace: { working_dir: 'project' }, ...extra },
  });
  expect(status).toBe(201);
  return body;
}

const UNKNOWN = '0b7c0d8e-1111-4222-8333-444455556666';

describe('conversation ids', () => {
  it('answers 422 to a malformed id on every conversation route, as FastAPI validates UUIDs', async () => {
    const { client } = await setup();
    for (const [method, path] of [
      ['GET', '/api/conversations/not-a-uuid'],
      ['DELETE', '/api/conversations/not-a-uuid'],
      ['PATCH', '/api/conversations/12345'],
      ['POST', '/api/conversations/not-a-uuid/pause'],
      ['POST', '/api/conversations/not-a-uuid/interrupt'],
      ['GET', '/api/conversations/not-a-uuid/events/search'],
      ['GET', `/api/conversations/not-a-uuid/events/${UNKNOWN}`],
    ] as const) {
      const answer = await client.request(method, path, method === 'PATCH' ? { body: {} } : {});
      expect(answer.status, `${method} ${path}`).toBe(422);
      expect(answer.body).toMatchObject({
        code: 'VALIDATION_ERROR',
        detail: [expect.objectContaining({ loc: ['params', 'conversation_id'] })],
      });
    }
  });

  it('answers 400 to DELETE, pause and interrupt of an unknown id, and 404 elsewhere', async () => {
    const setupResult = await setup();
    const { client } = setupResult;
    const info = await create(setupResult);
    for (const [method, path] of [
      ['DELETE', `/api/conversations/${UNKNOWN}`],
      ['POST', `/api/conversations/${UNKNOWN}/pause`],
      ['POST', `/api/conversations/${UNKNOWN}/interrupt`],
    ] as const) {
      const answer = await client.request(method, path);
      expect(answer.status, `${method} ${path}`).toBe(400);
      expect(answer.body).toMatchObject({ code: 'CONVERSATION_NOT_FOUND' });
    }
    expect((await client.request('GET', `/api/conversations/${UNKNOWN}`)).status).toBe(404);
    // The id without dashes names the same conversation, as a UUID parameter does.
    const undashed = info.id.replaceAll('-', '').toUpperCase();
    expect((await client.request('DELETE', `/api/conversations/${undashed}`)).status).toBe(200);
    expect((await client.request('GET', `/api/conversations/${info.id}`)).status).toBe(404);
    expect((await client.request('DELETE', `/api/conversations/${info.id}`)).status).toBe(400);
  });
});

describe('respond_to_confirmation when nothing waits', () => {
  it('answers 200: a rejection changes nothing, an acceptance runs as POST .../run does', async () => {
    const setupResult = await setup([text('Hello from the agent.')]);
    const { client } = setupResult;
    const info = await create(setupResult);
    await client.request('POST', `/api/conversations/${info.id}/events`, {
      body: { content: [{ type: 'text', text: 'hi' }] },
    });
    const before = await allEvents(client, info.id);
    const rejected = await client.request(
      'POST',
      `/api/conversations/${info.id}/events/respond_to_confirmation`,
      { body: { accept: false, reason: 'no' } },
    );
    expect(rejected.status).toBe(200);
    expect(rejected.body).toEqual({ success: true });
    expect(await allEvents(client, info.id)).toEqual(before);

    const accepted = await client.request(
      'POST',
      `/api/conversations/${info.id}/events/respond_to_confirmation`,
      { body: { accept: true } },
    );
    expect(accepted.status).toBe(200);
    await waitForStatus(client, info.id, ['finished']);
    const messages = (await allEvents(client, info.id)).filter(
      (event) => event.kind === 'MessageEvent' && event.source === 'agent',
    );
    expect(JSON.stringify(messages)).toContain('Hello from the agent.');
  });
});

describe('POST .../events roles', () => {
  it("takes OpenHands' four roles; only user messages reach the agent, others change nothing", async () => {
    const setupResult = await setup();
    const { client } = setupResult;
    const info = await create(setupResult);
    const before = await allEvents(client, info.id);
    for (const role of ['system', 'assistant', 'tool']) {
      const refused = await client.request('POST', `/api/conversations/${info.id}/events`, {
        body: { role, content: [{ type: 'text', text: 'not from a user' }] },
      });
      expect(refused.status, role).toBe(422);
      expect(refused.body.code).toBe('MESSAGE_ROLE_NOT_SUPPORTED');
      expect(refused.body.detail).toContain('Only user messages');
    }
    const unknownRole = await client.request('POST', `/api/conversations/${info.id}/events`, {
      body: { role: 'robot', content: [{ type: 'text', text: 'hi' }] },
    });
    expect(unknownRole.body).toMatchObject({
      code: 'VALIDATION_ERROR',
      detail: [expect.objectContaining({ loc: ['body', 'role'] })],
    });
    expect(await allEvents(client, info.id)).toEqual(before);

    for (const body of [
      { role: 'user', content: [{ type: 'text', text: 'explicit role' }] },
      { content: [{ type: 'text', text: 'default role' }] },
    ]) {
      const sent = await client.request('POST', `/api/conversations/${info.id}/events`, { body });
      expect(sent.status).toBe(200);
    }
    const messages = (await allEvents(client, info.id)).filter(
      (event) => event.kind === 'MessageEvent',
    );
    expect(messages.map((event) => event.source)).toEqual(['user', 'user']);
    expect(JSON.stringify(messages)).toContain('default role');

    const refusedStart = await client.request('POST', '/api/conversations', {
      body: {
        agent: scriptedAgent(setupResult.llm),
        initial_message: { role: 'assistant', content: [{ type: 'text', text: 'x' }] },
      },
    });
    expect(refusedStart.status).toBe(422);
    expect((await client.request<number>('GET', '/api/conversations/count')).body).toBe(1);
  });
});

describe('interrupt', () => {
  it('records an InterruptEvent after the paused status, kept by export and import', async () => {
    const setupResult = await setup([toolCall('think', { thought: 'never' }, { delayMs: 60_000 })]);
    const { client, llm, server } = setupResult;
    const info = await create(setupResult);
    await client.request('POST', `/api/conversations/${info.id}/events`, {
      body: { content: [{ type: 'text', text: 'go' }], run: true },
    });
    await llm.waitForRequest(1);
    const interrupted = await client.request('POST', `/api/conversations/${info.id}/interrupt`);
    expect(interrupted.status).toBe(200);
    const events = await allEvents(client, info.id);
    const last = events.at(-1);
    expect(last).toMatchObject({ kind: 'InterruptEvent', source: 'user' });
    expect(events.at(-2)).toMatchObject({ key: 'execution_status', value: 'paused' });
    // What OpenHands' models accept: the envelope alone, nothing taken away.
    expect(toOpenHandsEvent(last as never).event).toEqual(last);

    const exported = await fetch(`${server.url}/api/conversations/${info.id}/export`, {
      headers: { 'x-session-api-key': TEST_API_KEY },
    });
    expect(exported.status).toBe(200);
    const other = await setup();
    const imported = await fetch(`${other.server.url}/api/conversations/import`, {
      method: 'POST',
      headers: { 'x-session-api-key': TEST_API_KEY, 'content-type': 'application/gzip' },
      body: new Uint8Array(await exported.arrayBuffer()),
    });
    expect(imported.status).toBe(201);
    const arrived = await allEvents(other.client, info.id);
    expect(arrived.find((event) => event.kind === 'InterruptEvent')).toEqual(last);
  });

  it('pauses an idle conversation, as OpenHands falls back to pause', async () => {
    const setupResult = await setup();
    const { client } = setupResult;
    const info = await create(setupResult);
    expect((await client.request('POST', `/api/conversations/${info.id}/interrupt`)).status).toBe(
      200,
    );
    const fetched = await client.request<ConversationInfo>('GET', `/api/conversations/${info.id}`);
    expect(fetched.body.execution_status).toBe('paused');
    expect((await allEvents(client, info.id)).map((event) => event.kind)).toContain('PauseEvent');
  });
});

describe('ConversationInfo', () => {
  // Python reads the reference archive once: seconds on a busy machine.
  beforeAll(() => void openHandsReferenceModel('ConversationInfo'), 120_000);

  it("has every field of OpenHands' model, with the usage, the last user message and the fork's origin", async () => {
    const setupResult = await setup([text('First answer.')]);
    const { client } = setupResult;
    const info = await create(setupResult);
    await client.request('POST', `/api/conversations/${info.id}/events`, {
      body: { content: [{ type: 'text', text: 'hello' }], run: true },
    });
    await waitForStatus(client, info.id, ['finished']);
    const fetched = await client.request<Record<string, unknown>>(
      'GET',
      `/api/conversations/${info.id}`,
    );
    const fields = openHandsReferenceModel('ConversationInfo').fields;
    expect(fields).toEqual(
      expect.arrayContaining(['metrics', 'agent_state', 'forked_from_event_id']),
    );
    for (const field of fields) expect(fetched.body, field).toHaveProperty(field);

    const events = await allEvents(client, info.id);
    const userMessage = events.find(
      (event) => event.kind === 'MessageEvent' && event.source === 'user',
    );
    expect(fetched.body.last_user_message_id).toBe(userMessage?.id);
    expect(fetched.body.metrics).toMatchObject({
      model_name: 'scripted',
      accumulated_token_usage: { prompt_tokens: expect.any(Number) as number },
    });
    const usage = (fetched.body.metrics as { accumulated_token_usage: { prompt_tokens: number } })
      .accumulated_token_usage;
    expect(usage.prompt_tokens).toBeGreaterThan(0);
    expect(fetched.body).toMatchObject({
      agent_state: {},
      forked_from_conversation_id: null,
      forked_from_event_id: null,
      parent_conversation_id: null,
      sub_conversation_ids: [],
      supports_runtime_model_switch: false,
    });

    const whole = await client.request<ConversationInfo>(
      'POST',
      `/api/conversations/${info.id}/fork`,
      {
        body: {},
      },
    );
    expect(whole.body).toMatchObject({
      forked_from_conversation_id: info.id,
      forked_from_event_id: null,
      last_user_message_id: userMessage?.id,
    });
    const first = events[0];
    const partial = await client.request<ConversationInfo>(
      'POST',
      `/api/conversations/${info.id}/fork`,
      { body: { from_event_id: first?.id } },
    );
    expect(partial.body).toMatchObject({
      forked_from_conversation_id: info.id,
      forked_from_event_id: first?.id,
    });
    // Searching gives the same fields as getting one.
    const page = await client.request<{ items: Record<string, unknown>[] }>(
      'GET',
      '/api/conversations/search',
    );
    for (const item of page.body.items)
      for (const field of fields) expect(item).toHaveProperty(field);
  });
});

describe('a working_dir outside the workspace root', () => {
  it('is said in the answer: X-Ferry-Working-Dir-Moved holds the requested path', async () => {
    const { server, llm } = await setup();
    const start = (workingDir: string) =>
      fetch(`${server.url}/api/conversations`, {
        method: 'POST',
        headers: { 'x-session-api-key': TEST_API_KEY, 'content-type': 'application/json' },
        body: JSON.stringify({ agent: scriptedAgent(llm), workspace: { working_dir: workingDir } }),
      });
    const moved = await start('/home/me/my project');
    expect(moved.status).toBe(201);
    const movedInfo = (await moved.json()) as ConversationInfo;
    expect(moved.headers.get('x-ferry-working-dir-moved')).toBe('%2Fhome%2Fme%2Fmy%20project');
    expect(movedInfo.workspace.working_dir).toBe(
      join(server.workspaceRoot, movedInfo.id.replaceAll('-', '')),
    );

    const kept = await start('project');
    expect(kept.status).toBe(201);
    expect(kept.headers.get('x-ferry-working-dir-moved')).toBeNull();
    expect(((await kept.json()) as ConversationInfo).workspace.working_dir).toBe(
      join(server.workspaceRoot, 'project'),
    );
  });
});
