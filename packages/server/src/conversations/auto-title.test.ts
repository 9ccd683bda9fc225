import { httpError, startScriptedLLMServer, text, type ScriptTurn } from '@ferry/sdk-core/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ConversationInfo } from '../schemas/conversation-schemas';
import { scriptedAgent, startTestServer, testClient, type TestClient } from '../test-support';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A server with a secret key (profiles keep their key) and an agent LLM that is never called. */
async function setup() {
  const agentLlm = await startScriptedLLMServer({ script: [] });
  cleanups.push(() => agentLlm.close());
  const server = await startTestServer(cleanups, {
    secretKey: 'a-test-secret-key-of-enough-length',
  });
  const client = testClient(server);
  const start = async (extra: Record<string, unknown> = {}) => {
    const created = await client.request<ConversationInfo>('POST', '/api/conversations', {
      body: { agent: scriptedAgent(agentLlm), ...extra },
    });
    expect(created.status).toBe(201);
    return created.body;
  };
  return { client, agentLlm, start };
}

async function titleProfile(client: TestClient, script: readonly ScriptTurn[]) {
  const llm = await startScriptedLLMServer({ script });
  cleanups.push(() => llm.close());
  const saved = await client.request('POST', '/api/profiles/titles', {
    body: {
      llm: { model: 'title-model', base_url: llm.baseUrl, api_key: 'sk-title', num_retries: 0 },
    },
  });
  expect(saved.status).toBe(201);
  return llm;
}

const say = (client: TestClient, id: string, message: string) =>
  client.request('POST', `/api/conversations/${id}/events`, {
    body: { content: [{ type: 'text', text: message }] },
  });

const titleOf = (client: TestClient, id: string) =>
  vi.waitFor(
    async () => {
      const { body } = await client.request<ConversationInfo>('GET', `/api/conversations/${id}`);
      if (body.title == null) throw new Error('no title yet ' + JSON.stringify(body).slice(0, 300));
      return body.title;
    },
    { timeout: 10_000, interval: 20 },
  );

describe('titles from the first user message', () => {
  it('cuts the first message to 50 characters without a title LLM, and keeps it after', async () => {
    const { client, agentLlm, start } = await setup();
    const info = await start();
    expect(info.title).toBeNull();
    const message = 'Please migrate the billing service from MySQL to PostgreSQL 15 today';
    await say(client, info.id, message);
    const title = await titleOf(client, info.id);
    expect(title).toBe(`${message.slice(0, 47)}...`);
    await say(client, info.id, 'a second message changes nothing');
    expect(await titleOf(client, info.id)).toBe(title);
    expect(agentLlm.requests).toHaveLength(0);
  });

  it("titles the start request's initial message", async () => {
    const { client, start } = await setup();
    const info = await start({ initial_message: { content: [{ type: 'text', text: 'Fix CI' }] } });
    expect(await titleOf(client, info.id)).toBe('Fix CI');
  });

  it('asks the LLM of title_llm_profile, shown the message', async () => {
    const { client, start } = await setup();
    const llm = await titleProfile(client, [text('🐛 Fix the login redirect loop')]);
    const info = await start({ title_llm_profile: 'titles' });
    await say(client, info.id, 'Users get stuck in a redirect loop after login');
    expect(await titleOf(client, info.id)).toBe('🐛 Fix the login redirect loop');
    expect(llm.requests).toHaveLength(1);
    expect(JSON.stringify(llm.requests[0]?.body)).toContain('redirect loop after login');
  });

  it('falls back to the message when the title LLM fails, as OpenHands does', async () => {
    const { client, start } = await setup();
    const llm = await titleProfile(client, [httpError(500, { message: 'down' })]);
    const info = await start({ title_llm_profile: 'titles' });
    await say(client, info.id, 'Add dark mode');
    expect(await titleOf(client, info.id)).toBe('Add dark mode');
    expect(llm.requests).toHaveLength(1);
  });

  it('leaves a given title, and generates none with autotitle false', async () => {
    const { client, start } = await setup();
    const titled = await start({ title: 'Chosen' });
    const untitled = await start({ autotitle: false });
    await say(client, titled.id, 'hello');
    await say(client, untitled.id, 'hello');
    // A third conversation titled after both messages proves the titling had its chance.
    const witness = await start();
    await say(client, witness.id, 'witness');
    expect(await titleOf(client, witness.id)).toBe('witness');
    const get = (id: string) => client.request<ConversationInfo>('GET', `/api/conversations/${id}`);
    expect((await get(titled.id)).body.title).toBe('Chosen');
    expect((await get(untitled.id)).body.title).toBeNull();
  });
});
