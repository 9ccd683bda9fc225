import { randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createTemporaryDirectory, type TemporaryDirectory } from '@ferry/sdk-core/testing';
import { startServer, type FerryServer } from '@ferry/server';
import { apiRequest, httpRequest, type HttpAnswer } from './hostile-client';
import { serverStore, type ServerStore } from './reliability-store';
import {
  Opcode,
  clientFrame,
  frameHeader,
  openRawWebSocket,
  type RawWebSocket,
} from './hostile-websocket';

const API_KEY = `hostile-sockets-${randomUUID()}`;
/** What a subscriber may leave unread before it is dropped: small, so a test fills it fast. */
const BUFFER_LIMIT = 256 * 1024;
/** The server's largest accepted client frame (`@fastify/websocket`'s `maxPayload`). */
const MAX_FRAME = 1024 * 1024;
const MESSAGE_TEXT = 'x'.repeat(128 * 1024);

let dir: TemporaryDirectory;
let server: FerryServer;
let store: ServerStore;
let framesSent = 0;
const sockets: RawWebSocket[] = [];

afterEach(() => {
  for (const socket of sockets.splice(0)) socket.destroy();
});

function api(method: string, path: string, body?: unknown): Promise<HttpAnswer> {
  return apiRequest(server.url, API_KEY, method, path, body);
}

async function newConversation(): Promise<string> {
  const created = await api('POST', '/api/conversations', {
    agent: { kind: 'Agent', llm: { model: 'hostile-sockets', api_key: 'sk-not-a-real-key' } },
    initial_message: { content: [{ type: 'text', text: 'hello' }] },
  });
  expect(created.status, created.body.toString()).toBe(201);
  return (created.json as { id: string }).id;
}

async function postMessage(id: string, text = MESSAGE_TEXT): Promise<void> {
  const answer = await api('POST', `/api/conversations/${id}/events`, {
    content: [{ type: 'text', text }],
  });
  expect(answer.status, answer.body.toString()).toBe(200);
}

/** Every stored event id of the conversation, in order. */
async function storedIds(id: string): Promise<string[]> {
  const ids: string[] = [];
  let page: string | null = null;
  for (let pages = 0; pages < 1000; pages += 1) {
    const answer = await api(
      'GET',
      `/api/conversations/${id}/events/search?limit=100${page === null ? '' : `&page_id=${page}`}`,
    );
    const body = answer.json as { items: { id: string }[]; next_page_id: string | null };
    ids.push(...body.items.map((event) => event.id));
    page = body.next_page_id;
    if (page === null) return ids;
  }
  throw new Error('more than 1000 pages of events');
}

async function subscribe(id: string, query = 'resend_mode=all'): Promise<RawWebSocket> {
  const socket = await openRawWebSocket(
    server.url,
    `/sockets/events/${id}?${query}&session_api_key=${API_KEY}`,
  );
  sockets.push(socket);
  expect(socket.status).toBe(101);
  return socket;
}

/** The ids of the events among a socket's messages (the `full_state` snapshots left out). */
const idsOf = (messages: readonly string[]) =>
  messages
    .map((message) => JSON.parse(message) as { id?: string; key?: string })
    .filter((event) => event.key !== 'full_state')
    .map((event) => event.id);

/** The server's side of every events socket (`@fastify/websocket` gives the app its server). */
function serverSockets(): { readyState: number; bufferedAmount: number }[] {
  const app = server.app as unknown as {
    websocketServer: { clients: Set<{ readyState: number; bufferedAmount: number }> };
  };
  return [...app.websocketServer.clients];
}

/** The largest unsent byte count of any event socket, as the server holds it. */
function largestServerBuffer(): number {
  return Math.max(0, ...serverSockets().map((socket) => socket.bufferedAmount));
}

/** The server answers HTTP and a fresh subscriber gets the conversation's events. */
async function expectServerServes(id: string): Promise<void> {
  expect((await httpRequest(server.url, { method: 'GET', path: '/health' })).status).toBe(200);
  const ids = await storedIds(id);
  const fresh = await subscribe(id);
  // The state snapshot comes first, then the events.
  await fresh.waitForCount(ids.length + 1);
  expect(idsOf(fresh.messages)).toEqual(ids);
}

beforeAll(async () => {
  dir = await createTemporaryDirectory();
  store = await serverStore('hostile_sockets');
  server = await startServer({
    host: '127.0.0.1',
    port: 0,
    dataDir: join(dir.path, 'data'),
    apiKey: API_KEY,
    subscriberBufferLimit: BUFFER_LIMIT,
    ...store.options,
  });
});

afterAll(async () => {
  console.info(`hostile sockets: ${framesSent} hostile frames sent`);
  await server?.close();
  await store?.drop();
  await dir?.[Symbol.asyncDispose]();
});

describe('hostile sockets: floods and slow readers', () => {
  it('a flood of junk frames from clients that never read: bounded, others unaffected', async () => {
    const id = await newConversation();
    const watcher = await subscribe(id);
    await watcher.waitForCount(1);

    const flooders = await Promise.all(Array.from({ length: 4 }, () => subscribe(id)));
    // Each flooder's subscription is live (a new event reaches it), so its junk is handled as
    // frames of a subscriber, not as frames sent before the subscription (closed with 1008).
    await postMessage(id, 'everyone listening');
    for (const flooder of flooders) {
      await flooder.waitForText('everyone listening');
      flooder.pause();
    }
    const before = await storedIds(id);
    const junk = [
      '{"role":',
      'not json at all',
      '{"role":"user","content":"not a list"}',
      '[]',
      'null',
      JSON.stringify({ type: 'auth', session_api_key: 'wrong' }),
      JSON.stringify({ nested: JSON.parse(`${'['.repeat(500)}${']'.repeat(500)}`) as unknown }),
    ];
    for (let round = 0; round < 5000; round += 1) {
      for (const flooder of flooders) {
        flooder.send(Opcode.text, junk[round % junk.length] ?? '');
        flooder.send(Opcode.binary, randomBytes(64));
        framesSent += 2;
      }
    }
    // One flooder sends far more than the kernel buffers hold of the answers it never reads.
    for (let round = 0; round < 60_000; round += 1) {
      flooders[0]?.send(Opcode.text, junk[round % junk.length] ?? '');
      framesSent += 1;
    }
    // A frame that is large but allowed, many times.
    const big = `{"junk":"${'y'.repeat(MAX_FRAME - 64)}"}`;
    for (let round = 0; round < 20; round += 1) {
      flooders[0]?.send(Opcode.text, big);
      framesSent += 1;
    }

    // The server gives up on a flooder that leaves its answers unread, instead of buffering
    // them: it was dropped while the others (and the watcher) stay subscribed.
    const subscribed = 1 + flooders.length;
    await vi.waitFor(
      () => expect(server.conversations.subscriberCount(id)).toBeLessThan(subscribed),
      { timeout: 60_000, interval: 20 },
    );
    expect(largestServerBuffer()).toBeLessThanOrEqual(BUFFER_LIMIT + MAX_FRAME);
    for (const flooder of flooders) flooder.resume();
    // It reads what was already sent, then the close frame with the slow-reader code.
    expect(await flooders[0]?.closed).toEqual({ code: 4008, reason: 'subscriber too slow' });

    // Meanwhile the watcher gets a new event at once, and the server serves others.
    await postMessage(id, 'after the flood');
    await watcher.waitForText('after the flood');
    // No junk frame became a message: the only new event is the one posted.
    expect((await storedIds(id)).length).toBe(before.length + 1);
    await expectServerServes(id);
    // Whatever the flooders left unread stays bounded: each is dropped or within the limit.
    expect(largestServerBuffer()).toBeLessThanOrEqual(BUFFER_LIMIT + MAX_FRAME);
  });

  it.each([
    ['an oversized frame (2 MiB)', frameHeader(Opcode.text, 2 * MAX_FRAME, true), 1009],
    ['a frame announcing 2^62 bytes', frameHeader(Opcode.binary, 2 ** 62, true), 1009],
    ['an unmasked frame', clientFrame(Opcode.text, '{"role":"user"}', false), 1002],
    [
      'invalid UTF-8 in a text frame',
      clientFrame(Opcode.text, Buffer.from([0xff, 0xfe, 0xc3])),
      1007,
    ],
    ['an unknown opcode', clientFrame(0x3, 'x'), 1002],
  ])('%s: closed with its protocol code, the server keeps serving', async (_name, bytes, code) => {
    const id = await newConversation();
    const watcher = await subscribe(id);
    await watcher.waitForCount(1);
    const hostile = await subscribe(id);
    await hostile.waitForCount(1);
    hostile.writeRaw(Buffer.concat([bytes, randomBytes(4096)]));
    framesSent += 1;
    expect((await hostile.closed).code).toBe(code);
    await postMessage(id, 'still here');
    await watcher.waitForText('still here');
    await expectServerServes(id);
  });

  it('frames before authentication: a wrong first frame is 4001, a flood is cut off', async () => {
    const id = await newConversation();
    const unauthenticated = await openRawWebSocket(server.url, `/sockets/events/${id}`);
    sockets.push(unauthenticated);
    for (let index = 0; index < 5000; index += 1) {
      unauthenticated.send(
        Opcode.text,
        JSON.stringify({ type: 'auth', session_api_key: `guess-${index}` }),
      );
      framesSent += 1;
    }
    const close = await unauthenticated.closed;
    expect(close.code).toBe(4001);
    expect(unauthenticated.messages).toEqual([]);
    await expectServerServes(id);
  });

  it('a slow reader is dropped with 4008 after a bound, others keep up, a resume gets every event once', async () => {
    const id = await newConversation();
    const fast = await subscribe(id);
    const slow = await subscribe(id);
    await slow.waitForCount(1);
    slow.pause();

    // Produce events until the server has given up on the slow reader (bounded: 400 at most).
    let produced = 0;
    let largest = 0;
    const slowIsOpen = () => server.conversations.subscriberCount(id) >= 2;
    while (slowIsOpen() && produced < 400) {
      await postMessage(id);
      produced += 1;
      largest = Math.max(largest, largestServerBuffer());
    }
    expect(slowIsOpen(), `still subscribed after ${produced} events`).toBe(false);
    // Memory is bounded: never more than the limit plus the event being sent was held back.
    expect(largest).toBeLessThanOrEqual(BUFFER_LIMIT + 2 * MESSAGE_TEXT.length);
    // Reading again, it gets what was already sent, then the close frame with the slow code.
    slow.resume();
    expect(await slow.closed).toEqual({ code: 4008, reason: 'subscriber too slow' });
    // More events after the drop: the resume must bring them too.
    for (let extra = 0; extra < 5; extra += 1) await postMessage(id, `after the drop ${extra}`);

    const all = await storedIds(id);
    expect(all.length).toBeGreaterThan(produced);
    // The fast subscriber was never held back: every event, in order, once.
    await fast.waitForCount(all.length + 1);
    expect(idsOf(fast.messages)).toEqual(all);

    const received = idsOf(slow.messages);
    expect(received.length).toBeLessThan(all.length);
    expect(received).toEqual(all.slice(0, received.length));
    const last = received.at(-1);
    expect(last).toEqual(expect.any(String));

    const resumed = await subscribe(id, `after_event_id=${last ?? ''}`);
    await postMessage(id, 'after the resume');
    const final = await storedIds(id);
    await resumed.waitForText('after the resume');
    const together = [...received, ...idsOf(resumed.messages)];
    expect(together).toEqual(final);
    expect(new Set(together).size).toBe(together.length);
    console.info(
      `hostile sockets: slow reader dropped (4008) after ${produced} events of ${MESSAGE_TEXT.length} bytes, ` +
        `largest server buffer ${largest} bytes (limit ${BUFFER_LIMIT}), ${final.length} events delivered exactly once`,
    );
  });
});
