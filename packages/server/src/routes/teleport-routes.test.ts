import {
  createTemporaryDirectory,
  startScriptedLLMServer,
  toolCall,
  type ScriptedLLMServer,
} from '@ferry/sdk-core/testing';
import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ConversationInfo } from '../schemas/conversation-schemas';
import type { FerryServer } from '../server';
import {
  type EventPageBody,
  scriptedAgent,
  startTestServer,
  TEST_API_KEY,
  type TestClient,
  testClient,
  waitForStatus,
} from '../test-support';

const OTHER_KEY = 'ferry-test-key-of-b';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Counts the bytes of every bundle this process uploads to an import route. */
function countUploads(): number[] {
  const uploads: number[] = [];
  const realFetch = globalThis.fetch;
  vi.spyOn(globalThis, 'fetch').mockImplementation((input, init) => {
    const body = init?.body;
    const url = input instanceof Request ? input.url : input.toString();
    if (!url.includes('/api/conversations/import') || !(body instanceof ReadableStream)) {
      return realFetch(input, init);
    }
    const index = uploads.push(0) - 1;
    const counted = (body as ReadableStream<Uint8Array>).pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          uploads[index] = (uploads[index] ?? 0) + chunk.byteLength;
          controller.enqueue(chunk);
        },
      }),
    );
    return realFetch(input, { ...init, body: counted });
  });
  return uploads;
}

async function newServer(apiKey: string): Promise<{ server: FerryServer; client: TestClient }> {
  const dir = await createTemporaryDirectory();
  cleanups.push(() => dir.remove());
  const server = await startTestServer(cleanups, { dataDir: dir.path, apiKey });
  return { server, client: testClient(server, apiKey) };
}

async function scriptedLLM(): Promise<ScriptedLLMServer> {
  const llm = await startScriptedLLMServer({
    script: [],
    onExhausted: toolCall('finish', { message: 'done' }),
  });
  cleanups.push(() => llm.close());
  return llm;
}

async function finishedConversation(client: TestClient, llm: ScriptedLLMServer): Promise<string> {
  const created = await client.request<ConversationInfo>('POST', '/api/conversations', {
    body: {
      agent: scriptedAgent(llm),
      initial_message: { content: [{ type: 'text', text: 'hello' }], run: true },
    },
  });
  expect(created.status).toBe(201);
  await waitForStatus(client, created.body.id, ['finished']);
  return created.body.id;
}

describe('POST /api/conversations/{id}/teleport', () => {
  it('moves a conversation to another server: parked here, runnable there, the hop recorded', async () => {
    const llm = await scriptedLLM();
    const a = await newServer(TEST_API_KEY);
    const b = await newServer(OTHER_KEY);
    const id = await finishedConversation(a.client, llm);

    const moved = await a.client.request<{ to: string; console_url: string }>(
      'POST',
      `/api/conversations/${id}/teleport`,
      { body: { to: `${b.server.url}/`, api_key: OTHER_KEY, agent: scriptedAgent(llm) } },
    );
    expect(moved).toEqual({
      status: 200,
      body: { success: true, to: b.server.url, console_url: `${b.server.url}/ui/#${id}` },
    });

    const here = await a.client.request<ConversationInfo>('GET', `/api/conversations/${id}`);
    expect(here.body.teleport?.to).toBe(b.server.url);
    const refused = await a.client.request('POST', `/api/conversations/${id}/run`);
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('CONVERSATION_TELEPORTED');

    const there = await b.client.request<ConversationInfo>('GET', `/api/conversations/${id}`);
    expect(there.body.teleport ?? null).toBeNull();
    const hops = await b.client.request<EventPageBody>(
      'GET',
      `/api/conversations/${id}/events/search?kind=TeleportEvent&ferry_events=full`,
    );
    expect(hops.body.items).toHaveLength(1);
    expect(hops.body.items[0]).toMatchObject({ from: a.server.url, to: b.server.url });
    // It runs there, with the agent (and key) sent along.
    const sent = await b.client.request('POST', `/api/conversations/${id}/events`, {
      body: { role: 'user', content: [{ type: 'text', text: 'go on' }], run: true },
    });
    expect(sent.status).toBe(200);
    await waitForStatus(b.client, id, ['finished']);
    expect(llm.requests.at(-1)?.headers.authorization).toMatch(/^Bearer /);
  }, 60_000);

  it('sends only what the destination lacks when the conversation goes back to a server it left', async () => {
    const llm = await scriptedLLM();
    const a = await newServer(TEST_API_KEY);
    const b = await newServer(OTHER_KEY);
    const created = await a.client.request<ConversationInfo>('POST', '/api/conversations', {
      body: {
        agent: scriptedAgent(llm),
        // A long history, so that sending it whole and sending what is new differ plainly.
        initial_message: {
          content: [{ type: 'text', text: randomBytes(150_000).toString('base64') }],
          run: true,
        },
      },
    });
    const id = created.body.id;
    await waitForStatus(a.client, id, ['finished']);
    const uploads = countUploads();

    const agent = scriptedAgent(llm);
    const out = await a.client.request('POST', `/api/conversations/${id}/teleport`, {
      body: { to: b.server.url, api_key: OTHER_KEY, agent },
    });
    expect(out.status).toBe(200);
    await b.client.request('POST', `/api/conversations/${id}/events`, {
      body: { role: 'user', content: [{ type: 'text', text: 'one more step' }], run: true },
    });
    await waitForStatus(b.client, id, ['finished']);
    const back = await b.client.request('POST', `/api/conversations/${id}/teleport`, {
      body: { to: a.server.url, api_key: TEST_API_KEY, agent },
    });
    expect(back.status).toBe(200);

    const [first, delta] = uploads as [number, number];
    expect(uploads).toHaveLength(2);
    expect(delta).toBeLessThan(first / 10);
    // The copy here is whole again: what B added, then the arrival here; and it runs here.
    const events = async (client: TestClient) =>
      (
        await client.request<EventPageBody>(
          'GET',
          `/api/conversations/${id}/events/search?limit=100&ferry_events=full`,
        )
      ).body.items.map((event) => `${event.kind} ${event.id}`);
    const here = await events(a.client);
    const there = await events(b.client);
    expect(here.slice(0, there.length)).toEqual(there);
    expect(here.slice(there.length).map((event) => event.split(' ')[0])).toEqual(['TeleportEvent']);
    const again = await a.client.request('POST', `/api/conversations/${id}/events`, {
      body: { role: 'user', content: [{ type: 'text', text: 'home again' }], run: true },
    });
    expect(again.status).toBe(200);
    await waitForStatus(a.client, id, ['finished']);
  }, 60_000);

  it('leaves the conversation runnable here when the destination refuses it (a wrong key)', async () => {
    const llm = await scriptedLLM();
    const a = await newServer(TEST_API_KEY);
    const b = await newServer(OTHER_KEY);
    const id = await finishedConversation(a.client, llm);

    const refused = await a.client.request('POST', `/api/conversations/${id}/teleport`, {
      body: { to: b.server.url, api_key: 'not-the-key' },
    });
    expect(refused.status).toBe(502);
    expect(refused.body.code).toBe('TELEPORT_DESTINATION_REFUSED');
    expect(refused.body.detail).toContain('HTTP 401');
    const here = await a.client.request<ConversationInfo>('GET', `/api/conversations/${id}`);
    expect(here.body.teleport ?? null).toBeNull();
    expect((await b.client.request('GET', `/api/conversations/${id}`)).status).toBe(404);
    const again = await a.client.request('POST', `/api/conversations/${id}/events`, {
      body: { role: 'user', content: [{ type: 'text', text: 'still here' }], run: true },
    });
    expect(again.status).toBe(200);
    await waitForStatus(a.client, id, ['finished']);
  }, 60_000);

  it('refuses a move to itself or to something that is not an http(s) URL', async () => {
    const llm = await scriptedLLM();
    const a = await newServer(TEST_API_KEY);
    const id = await finishedConversation(a.client, llm);
    const itself = await a.client.request('POST', `/api/conversations/${id}/teleport`, {
      body: { to: a.server.url },
    });
    expect(itself.status).toBe(400);
    const ftp = await a.client.request('POST', `/api/conversations/${id}/teleport`, {
      body: { to: 'ftp://example.com' },
    });
    expect(ftp.status).toBe(422);
    expect(ftp.body.code).toBe('VALIDATION_ERROR');
  }, 60_000);
});
