import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTemporaryDirectory, type TemporaryDirectory } from '@ferry/sdk-core/testing';
import { startServer, type FerryServer } from '@ferry/server';
import { errorCode, httpRequest, type HttpAnswer } from './hostile-client';
import { Opcode, openRawWebSocket, type RawWebSocket } from './hostile-websocket';

const API_KEY = `ferry-auth-${randomBytes(16).toString('hex')}`;
const SECOND_KEY = `ferry-auth-second-${randomBytes(8).toString('hex')}`;
const BRUTE_FORCE_ATTEMPTS = 2000;

let dir: TemporaryDirectory;
let server: FerryServer;
let conversationId: string;
let wrongKeysTried = 0;
const sockets: RawWebSocket[] = [];

afterEach(() => {
  for (const socket of sockets.splice(0)) socket.destroy();
});

/** A request from `from` (a loopback address: one client each) with `key`, if any. */
function get(from: string, key: string | undefined, path = '/api/conversations/count') {
  if (key !== undefined && key !== API_KEY && key !== SECOND_KEY) wrongKeysTried += 1;
  return httpRequest(server.url, {
    method: 'GET',
    path,
    localAddress: from,
    headers: key === undefined ? {} : { 'x-session-api-key': key },
  });
}

/** Opens the events socket from `from`, with the key in the query, a header or a first frame. */
async function openSocket(
  from: string,
  key: string,
  via: 'query' | 'header' | 'frame',
): Promise<RawWebSocket> {
  if (key !== API_KEY && key !== SECOND_KEY) wrongKeysTried += 1;
  const query =
    via === 'query'
      ? `?resend_mode=all&session_api_key=${encodeURIComponent(key)}`
      : '?resend_mode=all';
  const socket = await openRawWebSocket(server.url, `/sockets/events/${conversationId}${query}`, {
    localAddress: from,
    ...(via === 'header' ? { headers: { 'X-Session-API-Key': key } } : {}),
  });
  sockets.push(socket);
  if (via === 'frame')
    socket.send(Opcode.text, JSON.stringify({ type: 'auth', session_api_key: key }));
  return socket;
}

/** The socket gets the conversation's first event: the key let it in. */
async function expectSubscribed(socket: RawWebSocket): Promise<void> {
  expect(socket.status).toBe(101);
  await socket.waitForCount(1);
  socket.destroy();
}

function expectRateLimited(answer: HttpAnswer): void {
  expect(answer.status).toBe(429);
  expect(errorCode(answer)).toBe('AUTH_RATE_LIMITED');
  const retryAfter = Number(answer.headers['retry-after']);
  expect(Number.isInteger(retryAfter)).toBe(true);
  expect(retryAfter).toBeGreaterThanOrEqual(1);
  expect(retryAfter).toBeLessThanOrEqual(3600);
}

/** Wrong keys of every length and shape near the right one. */
function wrongKeys(): string[] {
  const keys = new Set<string>();
  for (let length = 1; length <= 2 * API_KEY.length + 8; length += 1) {
    keys.add(randomBytes(length).toString('base64url').slice(0, length));
    keys.add(API_KEY.slice(0, length));
    keys.add(`${API_KEY}${'x'.repeat(length)}`);
  }
  for (let index = 0; index < API_KEY.length; index += 1) {
    const flipped = API_KEY[index] === 'a' ? 'b' : 'a';
    keys.add(`${API_KEY.slice(0, index)}${flipped}${API_KEY.slice(index + 1)}`);
  }
  keys.add(API_KEY.toUpperCase());
  keys.add(` ${API_KEY}`);
  keys.add(`${API_KEY}\t`);
  keys.add(`${API_KEY},${API_KEY}`);
  keys.add(`${API_KEY}${SECOND_KEY}`);
  keys.add(Buffer.from(API_KEY).toString('base64'));
  keys.add('x'.repeat(8000));
  for (const right of [API_KEY, SECOND_KEY]) keys.delete(right);
  // HTTP trims surrounding blanks of a header value: those two are the right key on the wire.
  keys.delete(` ${API_KEY}`);
  keys.delete(`${API_KEY}\t`);
  return [...keys];
}

beforeAll(async () => {
  dir = await createTemporaryDirectory();
  server = await startServer({
    host: '127.0.0.1',
    port: 0,
    dataDir: join(dir.path, 'data'),
    apiKey: [API_KEY, SECOND_KEY],
  });
  const created = await httpRequest(server.url, {
    method: 'POST',
    path: '/api/conversations',
    localAddress: '127.0.0.1',
    headers: { 'x-session-api-key': API_KEY, 'content-type': 'application/json' },
    body: JSON.stringify({
      agent: { kind: 'Agent', llm: { model: 'auth-brute-force', api_key: 'sk-not-a-real-key' } },
      initial_message: { content: [{ type: 'text', text: 'hello' }] },
    }),
  });
  expect(created.status, created.body.toString()).toBe(201);
  conversationId = (created.json as { id: string }).id;
});

afterAll(async () => {
  console.info(`auth brute force: ${wrongKeysTried} wrong keys tried, none accepted`);
  await server?.close();
  await dir?.[Symbol.asyncDispose]();
});

describe('auth: wrong keys never get in, guessing is rate-limited per client', () => {
  it('wrong keys of every length and shape are refused with 401, both right keys accepted', async () => {
    const keys = wrongKeys();
    expect(keys.length).toBeGreaterThan(200);
    // Twenty per client, below the limit: each answer is the plain 401.
    for (const [index, key] of keys.entries()) {
      const answer = await get(`127.0.1.${1 + Math.floor(index / 20)}`, key);
      expect(answer.status, `key of ${key.length} characters`).toBe(401);
      expect(errorCode(answer)).toBe('UNAUTHORIZED');
    }
    for (const [index, key] of keys.slice(0, 60).entries()) {
      const socket = await openSocket(`127.0.2.${1 + Math.floor(index / 20)}`, key, 'query');
      expect((await socket.closed).code, `key of ${key.length} characters`).toBe(4001);
      expect(socket.messages).toEqual([]);
    }
    for (const key of [API_KEY, SECOND_KEY]) {
      expect((await get('127.0.1.1', key)).status).toBe(200);
      await expectSubscribed(await openSocket('127.0.2.1', key, 'query'));
    }
  });

  it(`${BRUTE_FORCE_ATTEMPTS} wrong keys from one client: none gets in, it is limited with 429 and Retry-After`, async () => {
    const attacker = '127.0.0.2';
    const statuses: number[] = [];
    for (let attempt = 0; attempt < BRUTE_FORCE_ATTEMPTS; attempt += 1) {
      const answer = await get(
        attacker,
        `${API_KEY.slice(0, -4)}${attempt.toString(16).padStart(4, '0')}`,
      );
      statuses.push(answer.status);
      if (answer.status === 429) expectRateLimited(answer);
      else expect(answer.status).toBe(401);
    }
    const refused = statuses.filter((status) => status === 401).length;
    const limited = statuses.filter((status) => status === 429).length;
    expect(refused + limited).toBe(BRUTE_FORCE_ATTEMPTS);
    // Limited early, and for good: no plain refusal once the first 429 came.
    expect(refused).toBeGreaterThan(0);
    expect(refused).toBeLessThanOrEqual(100);
    expect(statuses.slice(statuses.indexOf(429)).every((status) => status === 429)).toBe(true);

    // A limited client gets nothing, even with the right key: guessing it would gain nothing.
    expectRateLimited(await get(attacker, API_KEY));
    const socket = await openSocket(attacker, API_KEY, 'query');
    const close = await socket.closed;
    expect(close.code).toBe(4029);
    expect(close.reason).toMatch(/retry in \d+ s/);

    // Everyone else is unaffected: the right key works, a wrong one is a plain 401.
    const bystander = '127.0.0.3';
    expect((await get(bystander, API_KEY)).status).toBe(200);
    expect((await get(bystander, 'not-the-key')).status).toBe(401);
    await expectSubscribed(await openSocket(bystander, SECOND_KEY, 'header'));
    console.info(
      `auth brute force: ${BRUTE_FORCE_ATTEMPTS} wrong keys from one client, ${refused} answered 401, ` +
        `${limited} answered 429; the right key from another client still served`,
    );
  });

  it('guessing over the events socket (query, header, first frame) counts too, and with HTTP', async () => {
    const attacker = '127.0.0.4';
    const codes: number[] = [];
    const vias = ['query', 'header', 'frame'] as const;
    for (let attempt = 0; attempt < 150; attempt += 1) {
      const socket = await openSocket(attacker, `guess-${attempt}`, vias[attempt % 3] ?? 'query');
      const close = await socket.closed;
      expect(socket.messages).toEqual([]);
      codes.push(close.code);
    }
    expect(codes.every((code) => code === 4001 || code === 4029)).toBe(true);
    expect(codes.filter((code) => code === 4001).length).toBeLessThanOrEqual(100);
    expect(codes.at(-1)).toBe(4029);
    // The same client is limited on HTTP too; another one is not.
    expectRateLimited(await get(attacker, API_KEY));
    await expectSubscribed(await openSocket('127.0.0.5', API_KEY, 'frame'));
  });

  it('a missing key is a 401 but no guess: it never limits the client', async () => {
    const client = '127.0.0.6';
    for (let attempt = 0; attempt < 200; attempt += 1) {
      const answer = await get(client, undefined);
      expect(answer.status).toBe(401);
    }
    expect((await get(client, API_KEY)).status).toBe(200);
  });

  it('open routes stay open to a limited client', async () => {
    const answer = await get('127.0.0.2', undefined, '/health');
    expect(answer.status).toBe(200);
  });
});
