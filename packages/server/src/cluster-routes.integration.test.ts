import {
  startScriptedLLMServer,
  text,
  toolCall,
  type ScriptTurn,
  type ScriptedLLMServer,
} from '@ferry/sdk-core/testing';
import { request as httpRequest } from 'node:http';
import { describe, expect, it } from 'vitest';
import { finishedOn, userMessage, useReplicas, type Replica } from './cluster-test-support';
import type { ConversationInfo } from './schemas/conversation-schemas';
import {
  TEST_API_KEY,
  allEvents,
  scriptedAgent,
  waitForStatus,
  type EventBody,
  type EventPageBody,
} from './test-support';

/**
 * Issue #15: create a conversation on one replica, then read, search, send, run, pause,
 * interrupt, confirm, switch the LLM, fork and export it through another. A, which created it,
 * holds its lease and runs it; every request here goes to B, which forwards it.
 */

const { databaseUrl, newServer, scriptedLLM, onCleanup } = useReplicas('server_cluster_routes');
// One key on every replica, as the README requires (profiles and secrets are sealed with it).
const secretKey = 'a-cluster-secret-key-of-enough-length';

/**
 * A scripted LLM whose first answer is `first`, given only once `release()` is called (a run
 * stays in its first step until then); every later request is answered with `finish`.
 */
async function gatedLLM(
  first: ScriptTurn,
): Promise<{ llm: ScriptedLLMServer; release: () => void }> {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => {
    release = resolve;
  });
  const llm = await startScriptedLLMServer({
    respond: async (_request, index) => {
      if (index > 0) return toolCall('finish', { message: 'done' });
      await gate;
      return first;
    },
  });
  onCleanup(async () => {
    release();
    await llm.close();
  });
  return { llm, release };
}

/** Two replicas, and a conversation created on A with `body` (which may run it there). */
async function conversationOnA(
  body: Record<string, unknown>,
): Promise<{ a: Replica; b: Replica; id: string }> {
  const a = await newServer(databaseUrl(), secretKey);
  const b = await newServer(databaseUrl(), secretKey);
  const created = await a.client.request<ConversationInfo>('POST', '/api/conversations', { body });
  expect(created.status).toBe(201);
  return { a, b, id: created.body.id };
}

/** A conversation started on A whose first message (`text`) ran to the end, seen so from B. */
async function finishedOnA(
  llm: ScriptedLLMServer,
  text: string,
): Promise<{ a: Replica; b: Replica; id: string }> {
  const a = await newServer(databaseUrl(), secretKey);
  const b = await newServer(databaseUrl(), secretKey);
  return { a, b, id: await finishedOn(a, scriptedAgent(llm), text, b) };
}

/** A still runs the conversation: B answered every request for it without taking it. */
function expectRunByA(a: Replica, b: Replica, id: string): void {
  expect(a.server.conversations.isOpen(id)).toBe(true);
  expect(b.server.conversations.isOpen(id)).toBe(false);
}

/** Both replicas show the same log, with an event of `kind` in it; returns that log. */
async function expectSameLogWith(a: Replica, b: Replica, id: string, kind: string) {
  const seenOnB = await allEvents(b.client, id);
  expect(seenOnB).toEqual(await allEvents(a.client, id));
  expect(seenOnB.map((event) => event.kind)).toContain(kind);
  return seenOnB;
}

/** `GET` with a JSON body, as OpenHands' client reads events by id (fetch cannot send one). */
function getWithBody(url: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const headers = {
      'x-session-api-key': TEST_API_KEY,
      'content-type': 'application/json',
      'content-length': String(Buffer.byteLength(payload)),
    };
    const request = httpRequest(url, { method: 'GET', headers }, (response) => {
      let answer = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (answer += chunk));
      response.on('end', () => {
        try {
          resolve({ status: response.statusCode ?? 0, body: JSON.parse(answer) as unknown });
        } catch (error) {
          reject(error instanceof Error ? error : new Error(String(error)));
        }
      });
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(payload);
  });
}

describe('every route through a replica that does not run the conversation', () => {
  it('searches and reads events and conversations', async () => {
    const llm = await scriptedLLM();
    const { a, b, id } = await finishedOnA(llm, 'Find the ferry');
    const events = await allEvents(a.client, id);

    const messages = await b.client.request<EventPageBody>(
      'GET',
      `/api/conversations/${id}/events/search?kind=MessageEvent&body=FIND%20THE%20FERRY`,
    );
    expect(messages.status).toBe(200);
    expect(messages.body.items.map((event) => event.id)).toEqual(
      events.filter((event) => event.kind === 'MessageEvent').map((event) => event.id),
    );
    const descending = await b.client.request<EventPageBody>(
      'GET',
      `/api/conversations/${id}/events/search?sort_order=TIMESTAMP_DESC&limit=100`,
    );
    expect(descending.body.items.map((event) => event.id)).toEqual(
      events.map((event) => event.id).reverse(),
    );
    const count = await b.client.request<number>('GET', `/api/conversations/${id}/events/count`);
    expect(count.body).toBe(events.length);
    const last = events.at(-1);
    const one = await b.client.request<EventBody>(
      'GET',
      `/api/conversations/${id}/events/${last?.id ?? ''}`,
    );
    expect(one.status).toBe(200);
    expect(one.body).toEqual(last);
    const unknown = await b.client.request(
      'GET',
      `/api/conversations/${id}/events/00000000-0000-4000-8000-000000000000`,
    );
    expect(unknown.status).toBe(404);

    const found = await b.client.request<{ items: ConversationInfo[] }>(
      'GET',
      '/api/conversations/search?status=finished',
    );
    expect(found.status).toBe(200);
    expect(found.body.items.map((item) => item.id)).toContain(id);
    const batch = await b.client.request<(ConversationInfo | null)[]>(
      'GET',
      `/api/conversations?ids=${id}`,
    );
    expect(batch.body.map((item) => item?.execution_status)).toEqual(['finished']);
    expectRunByA(a, b, id);
  });

  it('pauses a running conversation after its step, and runs it again', async () => {
    const { llm, release } = await gatedLLM(toolCall('terminal', { command: 'echo one step' }));
    const { a, b, id } = await conversationOnA({
      agent: scriptedAgent(llm, { tools: ['terminal'] }),
      initial_message: { content: [{ type: 'text', text: 'take one step' }], run: true },
    });
    await llm.waitForRequest(1);
    expect((await b.client.request('POST', `/api/conversations/${id}/pause`)).status).toBe(200);
    release();
    await waitForStatus(b.client, id, ['paused']);
    // The step in flight ended; no other began.
    expect(llm.requests).toHaveLength(1);
    const paused = await expectSameLogWith(a, b, id, 'PauseEvent');
    expect(paused.map((event) => event.kind)).toContain('ObservationEvent');

    expect((await b.client.request('POST', `/api/conversations/${id}/run`)).status).toBe(200);
    await waitForStatus(b.client, id, ['finished']);
    expect(llm.requests).toHaveLength(2);
    await expectSameLogWith(a, b, id, 'ActionEvent');
    expectRunByA(a, b, id);
  });

  it('interrupts the LLM call in flight, and runs again', async () => {
    const { llm } = await gatedLLM(toolCall('finish', { message: 'never given' }));
    const { a, b, id } = await conversationOnA({
      agent: scriptedAgent(llm),
      initial_message: { content: [{ type: 'text', text: 'think long' }], run: true },
    });
    await llm.waitForRequest(1);
    const busy = await b.client.request('POST', `/api/conversations/${id}/run`);
    expect(busy.status).toBe(409);
    expect(busy.body.code).toBe('CONVERSATION_RUNNING');
    // The route answers once the run has stopped.
    expect((await b.client.request('POST', `/api/conversations/${id}/interrupt`)).status).toBe(200);
    const stopped = await b.client.request<ConversationInfo>('GET', `/api/conversations/${id}`);
    expect(stopped.body.execution_status).toBe('paused');
    await waitForStatus(a.client, id, ['paused']);
    await expectSameLogWith(a, b, id, 'InterruptEvent');

    expect((await b.client.request('POST', `/api/conversations/${id}/run`)).status).toBe(200);
    await waitForStatus(b.client, id, ['finished']);
    expect(llm.requests).toHaveLength(2);
    expectRunByA(a, b, id);
  });

  it('sets the confirmation policy, then accepts and rejects waiting actions', async () => {
    const llm = await startScriptedLLMServer({
      script: [
        toolCall('terminal', { command: 'echo confirmed on b' }),
        toolCall('finish', { message: 'done' }),
        toolCall('terminal', { command: 'echo never run' }),
      ],
    });
    onCleanup(() => llm.close());
    const { a, b, id } = await conversationOnA({
      agent: scriptedAgent(llm, { tools: ['terminal'] }),
    });
    const policy = await b.client.request('POST', `/api/conversations/${id}/confirmation_policy`, {
      body: { policy: { kind: 'AlwaysConfirm' } },
    });
    expect(policy.status).toBe(200);
    const onA = await a.client.request<ConversationInfo>('GET', `/api/conversations/${id}`);
    expect(onA.body.confirmation_policy).toEqual({ kind: 'AlwaysConfirm' });

    await b.client.request('POST', `/api/conversations/${id}/events`, {
      body: userMessage('echo something', true),
    });
    await waitForStatus(b.client, id, ['waiting_for_confirmation']);
    const accepted = await b.client.request(
      'POST',
      `/api/conversations/${id}/events/respond_to_confirmation`,
      { body: { accept: true } },
    );
    expect(accepted.status).toBe(200);
    await waitForStatus(b.client, id, ['finished']);
    const observations = (await expectSameLogWith(a, b, id, 'ObservationEvent')).filter(
      (event) => event.kind === 'ObservationEvent',
    );
    expect(JSON.stringify(observations)).toContain('confirmed on b');

    await a.client.request('POST', `/api/conversations/${id}/events`, {
      body: userMessage('echo again', true),
    });
    await waitForStatus(b.client, id, ['waiting_for_confirmation']);
    const rejected = await b.client.request(
      'POST',
      `/api/conversations/${id}/events/respond_to_confirmation`,
      { body: { accept: false, reason: 'not from b' } },
    );
    expect(rejected.status).toBe(200);
    await waitForStatus(a.client, id, ['idle']);
    const rejection = (await expectSameLogWith(a, b, id, 'UserRejectObservation')).find(
      (event) => event.kind === 'UserRejectObservation',
    );
    expect(rejection?.rejection_reason).toBe('not from b');
    expect(llm.remaining).toBe(0);
    expectRunByA(a, b, id);
  });

  it('switches the LLM: the next run asks the new model', async () => {
    const llm = await scriptedLLM();
    const { a, b, id } = await finishedOnA(llm, 'one');
    const switched = await b.client.request('POST', `/api/conversations/${id}/switch_llm`, {
      body: { llm: scriptedAgent(llm, { model: 'scripted-b' }).llm },
    });
    expect(switched.status).toBe(200);
    const onA = await a.client.request<ConversationInfo>('GET', `/api/conversations/${id}`);
    expect(onA.body.agent.llm.model).toBe('scripted-b');

    await b.client.request('POST', `/api/conversations/${id}/events`, {
      body: userMessage('two', true),
    });
    await waitForStatus(b.client, id, ['finished']);
    expect(llm.requests.map((request) => request.model)).toEqual(['scripted', 'scripted-b']);
    expectRunByA(a, b, id);
  });

  it('forks: the fork is read, and runs, on both replicas', async () => {
    const llm = await scriptedLLM();
    const { a, b, id } = await finishedOnA(llm, 'before the fork');
    const fork = await b.client.request<ConversationInfo>('POST', `/api/conversations/${id}/fork`, {
      body: { title: 'forked on b' },
    });
    expect(fork.status).toBe(201);
    const forkId = fork.body.id;
    for (const replica of [a, b]) {
      const seen = await replica.client.request<ConversationInfo>(
        'GET',
        `/api/conversations/${forkId}`,
      );
      expect(seen.body.title).toBe('forked on b');
    }
    const forked = await expectSameLogWith(a, b, forkId, 'MessageEvent');
    expect(JSON.stringify(forked)).toContain('before the fork');

    await b.client.request('POST', `/api/conversations/${forkId}/events`, {
      body: userMessage('after the fork', true),
    });
    await waitForStatus(a.client, forkId, ['finished']);
    const original = await allEvents(b.client, id);
    expect(JSON.stringify(original)).not.toContain('after the fork');
    expect(JSON.stringify(await allEvents(a.client, forkId))).toContain('after the fork');
    expectRunByA(a, b, id);
  });

  it('exports a bundle that another server imports whole', async () => {
    const llm = await scriptedLLM();
    const { a, b, id } = await finishedOnA(llm, 'take me along');
    const exported = await fetch(`${b.server.url}/api/conversations/${id}/export`, {
      headers: { 'x-session-api-key': TEST_API_KEY },
    });
    expect(exported.status).toBe(200);
    const laptop = await newServer(undefined, secretKey);
    const imported = await fetch(`${laptop.server.url}/api/conversations/import`, {
      method: 'POST',
      headers: { 'x-session-api-key': TEST_API_KEY, 'content-type': 'application/gzip' },
      body: new Uint8Array(await exported.arrayBuffer()),
    });
    expect(imported.status).toBe(201);
    expect(await allEvents(laptop.client, id)).toEqual(await allEvents(a.client, id));
    expectRunByA(a, b, id);
  });

  it('answers the other routes: start again, final response, events by id, ask, secrets, analyzer, agent, profile', async () => {
    const llm = await startScriptedLLMServer({
      script: [toolCall('finish', { message: 'first answer' }), text('It is about ferries.')],
      onExhausted: toolCall('finish', { message: 'done' }),
    });
    onCleanup(() => llm.close());
    const { a, b, id } = await finishedOnA(llm, 'answer me');
    const again = await b.client.request<ConversationInfo>('POST', '/api/conversations', {
      body: { conversation_id: id, agent: scriptedAgent(llm) },
    });
    expect(again.status).toBe(200);
    expect(again.body.execution_status).toBe('finished');
    const final = await b.client.request('GET', `/api/conversations/${id}/agent_final_response`);
    expect(final.body).toEqual({ response: 'first answer' });

    const events = await allEvents(a.client, id);
    const first = events[0];
    const unknown = '00000000-0000-4000-8000-000000000000';
    const byQuery = await b.client.request(
      'GET',
      `/api/conversations/${id}/events?event_ids=${first?.id ?? ''}&event_ids=${unknown}`,
    );
    expect(byQuery.body).toEqual([first, null]);
    const byBody = await getWithBody(`${b.server.url}/api/conversations/${id}/events`, [
      unknown,
      first?.id,
    ]);
    expect(byBody).toEqual({ status: 200, body: [null, first] });

    const asked = await b.client.request('POST', `/api/conversations/${id}/ask_agent`, {
      body: { question: 'What is this about?' },
    });
    expect(asked.body).toEqual({ response: 'It is about ferries.' });
    expect(await allEvents(a.client, id)).toEqual(events);

    const secret = 'a-secret-sent-through-b';
    const secrets = await b.client.request('POST', `/api/conversations/${id}/secrets`, {
      body: { secrets: { TOKEN: secret } },
    });
    expect(secrets.status).toBe(200);
    const analyzer = await b.client.request('POST', `/api/conversations/${id}/security_analyzer`, {
      body: { security_analyzer: { kind: 'LLMSecurityAnalyzer' } },
    });
    expect(analyzer.status).toBe(200);
    const replaced = await b.client.request('PUT', `/api/conversations/${id}/agent`, {
      body: { agent: scriptedAgent(llm, { model: 'scripted-put' }) },
    });
    expect(replaced.status).toBe(200);
    const onA = await a.client.request<ConversationInfo>('GET', `/api/conversations/${id}`);
    expect(Object.keys(onA.body.secret_registry.secret_sources)).toContain('TOKEN');
    expect(JSON.stringify(onA.body)).not.toContain(secret);
    expect(onA.body.security_analyzer).toEqual({ kind: 'LLMSecurityAnalyzer' });
    expect(onA.body.agent.llm.model).toBe('scripted-put');

    // Profiles are the cluster's: saved on A, applied through B.
    await a.client.request('POST', '/api/profiles/ferry-profile', {
      body: { llm: scriptedAgent(llm, { model: 'profile-model' }).llm },
    });
    const switched = await b.client.request('POST', `/api/conversations/${id}/switch_profile`, {
      body: { profile_name: 'ferry-profile' },
    });
    expect(switched.status).toBe(200);
    expect((await b.client.request('POST', `/api/conversations/${id}/condense`)).status).toBe(200);
    await b.client.request('POST', `/api/conversations/${id}/events`, {
      body: userMessage('now with the profile', true),
    });
    await waitForStatus(b.client, id, ['finished']);
    expect(llm.requests.at(-1)?.model).toBe('profile-model');
    expectRunByA(a, b, id);
  });
});
