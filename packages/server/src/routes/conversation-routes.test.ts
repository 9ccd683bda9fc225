import {
  startScriptedLLMServer,
  text,
  toolCall,
  type ScriptTurn,
  type ScriptedLLMServer,
} from '@ferry/sdk-core/testing';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConversationInfo } from '../schemas/conversation-schemas';
import type { FerryServer } from '../server';
import {
  allEvents,
  scriptedAgent,
  storedData,
  startTestServer,
  testClient,
  waitForStatus,
  type EventBody,
  type EventPageBody,
  type TestClient,
} from '../test-support';

interface Setup {
  llm: ScriptedLLMServer;
  server: FerryServer;
  client: TestClient;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(script: readonly ScriptTurn[] = [], onExhausted?: ScriptTurn): Promise<Setup> {
  const llm = await startScriptedLLMServer(
    onExhausted === undefined ? { script } : { script, onExhausted },
  );
  cleanups.push(() => llm.close());
  const server = await startTestServer(cleanups);
  return { llm, server, client: testClient(server) };
}

async function create(
  { client, llm }: Setup,
  extra: Record<string, unknown> = {},
  agentOptions: { model?: string; tools?: string[] } = {},
): Promise<ConversationInfo> {
  const { status, body } = await client.request<ConversationInfo>('POST', '/api/conversations', {
    body: {
      agent: scriptedAgent(llm, agentOptions),
      workspace: { working_dir: 'project' },
      ...extra,
    },
  });
  expect(status).toBe(201);
  return body;
}

describe('conversation routes', () => {
  it('creates a conversation (201), returns the same one for its id (200), secrets redacted', async () => {
    const setupResult = await setup();
    const { client, server } = setupResult;
    const info = await create(setupResult, { tags: { team: 'ferry' } });
    expect(info.execution_status).toBe('idle');
    expect(info.agent.llm.api_key).toBe('**********');
    expect(info.tags).toEqual({ team: 'ferry' });
    expect(info.workspace.working_dir).toBe(join(server.workspaceRoot, 'project'));
    expect(Date.parse(info.created_at)).not.toBeNaN();

    const again = await client.request<ConversationInfo>('POST', '/api/conversations', {
      body: { agent: scriptedAgent(setupResult.llm), conversation_id: info.id, workspace: {} },
    });
    expect(again.status).toBe(200);
    expect(again.body.id).toBe(info.id);
    expect(again.body.workspace.working_dir).toBe(info.workspace.working_dir);

    const fetched = await client.request<ConversationInfo>('GET', `/api/conversations/${info.id}`);
    expect(fetched.body).toMatchObject({ id: info.id, tags: { team: 'ferry' } });
    // What the server stored (its files, or its database's rows) holds the conversation, but
    // not the LLM key in plaintext.
    const stored = await storedData(server);
    expect(stored).toMatch(new RegExp(info.id.replaceAll('-', '-?')));
    expect(stored).not.toContain('sk-test-scripted-secret');
  });

  it('places a working_dir outside the workspace root in a folder of its own under it', async () => {
    const setupResult = await setup();
    const info = await create(setupResult, { workspace: { working_dir: '/etc' } });
    expect(info.workspace.working_dir).toBe(
      join(setupResult.server.workspaceRoot, info.id.replaceAll('-', '')),
    );
    const escaping = await create(setupResult, { workspace: { working_dir: '../../outside' } });
    expect(escaping.workspace.working_dir).toBe(
      join(setupResult.server.workspaceRoot, escaping.id.replaceAll('-', '')),
    );
  });

  it('runs to finished and serves its events: search pages, filters, count, one by id', async () => {
    const setupResult = await setup([toolCall('finish', { message: 'done' })]);
    const { client } = setupResult;
    const info = await create(setupResult, {
      initial_message: { role: 'user', content: [{ type: 'text', text: 'Say done' }] },
    });
    expect((await client.request('POST', `/api/conversations/${info.id}/run`)).status).toBe(200);
    const finished = await waitForStatus(client, info.id, ['finished']);
    expect(finished.execution_status).toBe('finished');

    const events = await allEvents(client, info.id);
    const kinds = events.map((event) => event.kind);
    expect(kinds).toContain('MessageEvent');
    expect(kinds).toContain('ActionEvent');
    const count = await client.request<number>('GET', `/api/conversations/${info.id}/events/count`);
    expect(count.body).toBe(events.length);

    const paged: EventBody[] = [];
    let pageId: string | null = null;
    do {
      const suffix: string = pageId === null ? '' : `&page_id=${pageId}`;
      const page = await client.request<EventPageBody>(
        'GET',
        `/api/conversations/${info.id}/events/search?limit=2${suffix}`,
      );
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      paged.push(...page.body.items);
      pageId = page.body.next_page_id;
    } while (pageId !== null);
    expect(paged.map((event) => event.id)).toEqual(events.map((event) => event.id));

    const descending = await client.request<EventPageBody>(
      'GET',
      `/api/conversations/${info.id}/events/search?sort_order=TIMESTAMP_DESC`,
    );
    expect(descending.body.items.map((event) => event.id)).toEqual(
      events.map((event) => event.id).reverse(),
    );

    const messages = await client.request<EventPageBody>(
      'GET',
      `/api/conversations/${info.id}/events/search?kind=MessageEvent&body=SAY%20DONE`,
    );
    expect(messages.body.items).toHaveLength(1);
    expect(messages.body.items[0]?.source).toBe('user');

    const future = new Date(Date.now() + 60_000).toISOString();
    const none = await client.request<number>(
      'GET',
      `/api/conversations/${info.id}/events/count?timestamp__gte=${future}`,
    );
    expect(none.body).toBe(0);

    const first = events[0];
    const one = await client.request<EventBody>(
      'GET',
      `/api/conversations/${info.id}/events/${first?.id ?? ''}`,
    );
    expect(one.body).toEqual(first);
  });

  it('answers 409 to run while running, and interrupt stops the run as paused', async () => {
    const setupResult = await setup([toolCall('finish', { message: 'late' }, { delayMs: 60_000 })]);
    const { client, llm } = setupResult;
    const info = await create(setupResult, {
      initial_message: { content: [{ type: 'text', text: 'go' }], run: true },
    });
    await llm.waitForRequest(1);
    const again = await client.request('POST', `/api/conversations/${info.id}/run`);
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('CONVERSATION_RUNNING');

    expect((await client.request('POST', `/api/conversations/${info.id}/interrupt`)).status).toBe(
      200,
    );
    const paused = await client.request<ConversationInfo>('GET', `/api/conversations/${info.id}`);
    expect(paused.body.execution_status).toBe('paused');
  });

  it('searches and counts conversations by status, a page at a time', async () => {
    const setupResult = await setup([toolCall('finish', { message: 'done' })]);
    const { client } = setupResult;
    const ids: string[] = [];
    for (let index = 0; index < 3; index += 1) ids.push((await create(setupResult)).id);
    await client.request('POST', `/api/conversations/${ids[0] ?? ''}/events`, {
      body: { content: [{ type: 'text', text: 'finish please' }], run: true },
    });
    await waitForStatus(client, ids[0] ?? '', ['finished']);

    expect((await client.request<number>('GET', '/api/conversations/count')).body).toBe(3);
    expect(
      (await client.request<number>('GET', '/api/conversations/count?status=finished')).body,
    ).toBe(1);

    const seen: string[] = [];
    let pageId: string | null = null;
    do {
      const suffix: string = pageId === null ? '' : `&page_id=${pageId}`;
      const page = await client.request<{ items: ConversationInfo[]; next_page_id: string | null }>(
        'GET',
        `/api/conversations/search?limit=2&sort_order=CREATED_AT${suffix}`,
      );
      seen.push(...page.body.items.map((item) => item.id));
      pageId = page.body.next_page_id;
    } while (pageId !== null);
    expect(seen).toEqual(ids);

    const idle = await client.request<{ items: ConversationInfo[] }>(
      'GET',
      '/api/conversations/search?status=idle',
    );
    expect(idle.body.items.map((item) => item.id).sort()).toEqual([ids[1], ids[2]].sort());

    const batch = await client.request<(ConversationInfo | null)[]>(
      'GET',
      `/api/conversations?ids=${ids[1] ?? ''}&ids=00000000-0000-4000-8000-000000000000`,
    );
    expect(batch.body.map((item) => item?.id ?? null)).toEqual([ids[1], null]);
  });

  it('updates title and tags, forks, and deletes', async () => {
    const setupResult = await setup();
    const { client, server } = setupResult;
    const info = await create(setupResult);
    const patched = await client.request('PATCH', `/api/conversations/${info.id}`, {
      body: { title: 'A title', tags: { stage: 'one' } },
    });
    expect(patched.status).toBe(200);
    await client.request('POST', `/api/conversations/${info.id}/events`, {
      body: { content: [{ type: 'text', text: 'remember me' }] },
    });

    const fork = await client.request<ConversationInfo>(
      'POST',
      `/api/conversations/${info.id}/fork`,
      { body: { title: 'The fork', tags: { stage: 'two' } } },
    );
    expect(fork.status).toBe(201);
    expect(fork.body).toMatchObject({ title: 'The fork', tags: { stage: 'two' } });
    expect(fork.body.workspace.working_dir).toBe(info.workspace.working_dir);
    const forkEvents = await allEvents(client, fork.body.id);
    expect(forkEvents.map((event) => event.kind)).toContain('MessageEvent');

    const original = await client.request<ConversationInfo>('GET', `/api/conversations/${info.id}`);
    expect(original.body).toMatchObject({ title: 'A title', tags: { stage: 'one' } });

    const taken = await client.request('POST', `/api/conversations/${info.id}/fork`, {
      body: { id: fork.body.id },
    });
    expect(taken.status).toBe(409);

    expect((await client.request('DELETE', `/api/conversations/${info.id}`)).status).toBe(200);
    expect((await client.request('GET', `/api/conversations/${info.id}`)).status).toBe(404);
    expect((await client.request('DELETE', `/api/conversations/${info.id}`)).status).toBe(400);
    expect(server.conversations.isOpen(info.id)).toBe(false);
    expect((await client.request<number>('GET', '/api/conversations/count')).body).toBe(1);
  });

  it('asks the agent a question without changing the log', async () => {
    const setupResult = await setup([text('It is about ferries.')]);
    const { client } = setupResult;
    const info = await create(setupResult);
    const before = await allEvents(client, info.id);
    const answer = await client.request<{ response: string }>(
      'POST',
      `/api/conversations/${info.id}/ask_agent`,
      { body: { question: 'What is this about?' } },
    );
    expect(answer.status).toBe(200);
    expect(answer.body.response).toBe('It is about ferries.');
    expect(await allEvents(client, info.id)).toEqual(before);
  });

  it('waits for confirmation, then runs the accepted action', async () => {
    const setupResult = await setup([
      toolCall('terminal', { command: 'echo confirmed' }),
      toolCall('finish', { message: 'done' }),
    ]);
    const { client } = setupResult;
    const info = await create(
      setupResult,
      { confirmation_policy: { kind: 'AlwaysConfirm' } },
      { tools: ['terminal'] },
    );
    expect(info.confirmation_policy).toEqual({ kind: 'AlwaysConfirm' });
    await client.request('POST', `/api/conversations/${info.id}/events`, {
      body: { content: [{ type: 'text', text: 'echo something' }], run: true },
    });
    await waitForStatus(client, info.id, ['waiting_for_confirmation']);
    const accepted = await client.request(
      'POST',
      `/api/conversations/${info.id}/events/respond_to_confirmation`,
      { body: { accept: true } },
    );
    expect(accepted.status).toBe(200);
    await waitForStatus(client, info.id, ['finished']);
    const observation = (await allEvents(client, info.id)).find(
      (event) => event.kind === 'ObservationEvent',
    );
    expect(JSON.stringify(observation)).toContain('confirmed');

    // Nothing waits any more: OpenHands answers 200 and a rejection changes nothing.
    const before = await allEvents(client, info.id);
    const nothing = await client.request(
      'POST',
      `/api/conversations/${info.id}/events/respond_to_confirmation`,
      { body: { accept: false } },
    );
    expect(nothing.status).toBe(200);
    expect(await allEvents(client, info.id)).toEqual(before);
  });
});

describe('PUT /api/conversations/{id}/agent', () => {
  it('makes the next LLM request use the new model', async () => {
    const setupResult = await setup([
      toolCall('finish', { message: 'first' }),
      toolCall('finish', { message: 'second' }),
    ]);
    const { client, llm } = setupResult;
    const info = await create(setupResult, {
      initial_message: { content: [{ type: 'text', text: 'one' }], run: true },
    });
    await waitForStatus(client, info.id, ['finished']);
    expect(llm.requests[0]?.model).toBe('scripted');

    const replaced = await client.request<{ plan: { changes: { path: string; new: unknown }[] } }>(
      'PUT',
      `/api/conversations/${info.id}/agent`,
      { body: { agent: scriptedAgent(llm, { model: 'scripted-b' }) } },
    );
    expect(replaced.status).toBe(200);
    expect(replaced.body.plan.changes).toContainEqual(
      expect.objectContaining({ path: 'llm.model', new: 'scripted-b' }),
    );
    expect(JSON.stringify(replaced.body)).not.toContain('sk-test-scripted-secret');

    await client.request('POST', `/api/conversations/${info.id}/events`, {
      body: { content: [{ type: 'text', text: 'two' }], run: true },
    });
    await llm.waitForRequest(2);
    await waitForStatus(client, info.id, ['finished']);
    expect(llm.requests[1]?.model).toBe('scripted-b');
    const fetched = await client.request<ConversationInfo>('GET', `/api/conversations/${info.id}`);
    expect(fetched.body.agent.llm.model).toBe('scripted-b');
  });

  it('answers 422 naming a removed tool, and 409 while running', async () => {
    const setupResult = await setup([toolCall('finish', { message: 'late' }, { delayMs: 60_000 })]);
    const { client, llm } = setupResult;
    const info = await create(setupResult, {}, { tools: ['terminal'] });
    const removed = await client.request('PUT', `/api/conversations/${info.id}/agent`, {
      body: { agent: scriptedAgent(llm) },
    });
    expect(removed.status).toBe(422);
    expect(removed.body.code).toBe('TOOLS_REMOVED');
    expect(removed.body.removed).toEqual(['terminal']);
    expect(String(removed.body.detail)).toContain('terminal');

    const kind = await client.request('PUT', `/api/conversations/${info.id}/agent`, {
      body: { agent: { ...scriptedAgent(llm, { tools: ['terminal'] }), kind: 'OtherAgent' } },
    });
    expect(kind.status).toBe(422);
    expect(kind.body.code).toBe('AGENT_KIND_MISMATCH');

    await client.request('POST', `/api/conversations/${info.id}/events`, {
      body: { content: [{ type: 'text', text: 'go' }], run: true },
    });
    await llm.waitForRequest(1);
    const running = await client.request('PUT', `/api/conversations/${info.id}/agent`, {
      body: { agent: scriptedAgent(llm, { model: 'other', tools: ['terminal'] }) },
    });
    expect(running.status).toBe(409);
    await client.request('POST', `/api/conversations/${info.id}/interrupt`);
  });
});

describe('refusals', () => {
  it('answers 401 without a key, 400/422 to malformed bodies, 404 to unknown ids, and changes nothing stored', async () => {
    const setupResult = await setup();
    const { client, server, llm } = setupResult;
    const info = await create(setupResult, {
      initial_message: { content: [{ type: 'text', text: 'hello' }] },
    });
    const before = await storedData(server);
    const anonymous = testClient(server, null);
    const wrongKey = testClient(server, 'not-the-key');
    const unknown = '00000000-0000-4000-8000-000000000000';

    for (const [method, path] of [
      ['GET', '/api/conversations/search'],
      ['GET', `/api/conversations/${info.id}`],
      ['POST', `/api/conversations/${info.id}/run`],
      ['DELETE', `/api/conversations/${info.id}`],
      ['GET', '/api/bash/bash_events/search'],
    ] as const) {
      const refused = await anonymous.request(method, path);
      expect(refused.status, `${method} ${path}`).toBe(401);
      expect(refused.body.code).toBe('UNAUTHORIZED');
      expect((await wrongKey.request(method, path)).status).toBe(401);
    }
    const anonymousCreate = await anonymous.request('POST', '/api/conversations', {
      body: { agent: scriptedAgent(llm) },
    });
    expect(anonymousCreate.status).toBe(401);

    const badJson = await client.request('POST', '/api/conversations', {
      rawBody: '{"agent": {"llm": {"api_key": "sk-must-not-echo"',
    });
    expect(badJson.status).toBe(400);
    expect(badJson.body.code).toBe('INVALID_JSON');
    expect(JSON.stringify(badJson.body)).not.toContain('sk-must-not-echo');

    const noModel = await client.request('POST', '/api/conversations', {
      body: { agent: { llm: { api_key: 'sk-must-not-echo' } } },
    });
    expect(noModel.status).toBe(422);
    expect(noModel.body.code).toBe('VALIDATION_ERROR');
    expect(noModel.body.detail).toContainEqual(
      expect.objectContaining({ loc: ['body', 'agent', 'llm', 'model'] }),
    );
    expect(JSON.stringify(noModel.body)).not.toContain('sk-must-not-echo');

    const badMessage = await client.request('POST', `/api/conversations/${info.id}/events`, {
      body: { content: 'not a list' },
    });
    expect(badMessage.status).toBe(422);
    expect(badMessage.body.detail).toContainEqual(
      expect.objectContaining({ loc: ['body', 'content'] }),
    );
    const badPolicy = await client.request(
      'POST',
      `/api/conversations/${info.id}/confirmation_policy`,
      { body: { policy: { kind: 'Sometimes' } } },
    );
    expect(badPolicy.status).toBe(422);
    const badAgent = await client.request('PUT', `/api/conversations/${info.id}/agent`, {
      body: { agent: { tools: [] } },
    });
    expect(badAgent.status).toBe(422);
    const badLimit = await client.request('GET', '/api/conversations/search?limit=1000');
    expect(badLimit.status).toBe(422);
    expect(badLimit.body.detail).toContainEqual(
      expect.objectContaining({ loc: ['querystring', 'limit'] }),
    );
    const badId = await client.request('POST', '/api/conversations', {
      body: { agent: scriptedAgent(llm), conversation_id: 'not-a-uuid' },
    });
    expect(badId.status).toBe(400);

    for (const [method, path] of [
      ['GET', `/api/conversations/${unknown}`],
      ['POST', `/api/conversations/${unknown}/run`],
      ['GET', `/api/conversations/${unknown}/events/search`],
      ['GET', `/api/conversations/${info.id}/events/${unknown}`],
      ['GET', '/api/no/such/route'],
    ] as const) {
      const missing = await client.request(method, path);
      expect(missing.status, `${method} ${path}`).toBe(404);
    }
    const missingMessage = await client.request('POST', `/api/conversations/${unknown}/events`, {
      body: { content: [{ type: 'text', text: 'hello?' }] },
    });
    expect(missingMessage.status).toBe(404);

    expect(await storedData(server)).toEqual(before);
    expect((await client.request<number>('GET', '/api/conversations/count')).body).toBe(1);
  });

  it('keeps secrets out of responses and out of what it stores', async () => {
    const setupResult = await setup();
    const { client, server } = setupResult;
    const info = await create(setupResult, { secrets: { GITHUB_TOKEN: 'ghp-secret-value' } });
    const updated = await client.request('POST', `/api/conversations/${info.id}/secrets`, {
      body: { secrets: { OTHER: { kind: 'StaticSecret', value: 'other-secret-value' } } },
    });
    expect(updated.status).toBe(200);
    const fetched = await client.request<ConversationInfo>('GET', `/api/conversations/${info.id}`);
    const answer = JSON.stringify(fetched.body);
    expect(answer).not.toContain('ghp-secret-value');
    expect(answer).not.toContain('other-secret-value');
    expect(Object.keys(fetched.body.secret_registry.secret_sources).sort()).toEqual([
      'GITHUB_TOKEN',
      'OTHER',
    ]);
    const events = JSON.stringify(await allEvents(client, info.id));
    const stored = await storedData(server);
    expect(stored).toContain('GITHUB_TOKEN');
    for (const secret of ['ghp-secret-value', 'other-secret-value', 'sk-test-scripted-secret']) {
      expect(events).not.toContain(secret);
      expect(stored).not.toContain(secret);
    }
  });
});
