import {
  createTemporaryDirectory,
  startScriptedLLMServer,
  toolCall,
  type ScriptTurn,
  type ScriptedLLMServer,
  type TemporaryDirectory,
} from '@ferry/sdk-core/testing';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import type { ConversationInfo } from '../schemas/conversation-schemas';
import type { FerryServer, StartServerOptions } from '../server';
import {
  allEvents,
  type EventBody,
  scriptedAgent,
  startTestServer,
  TEST_API_KEY,
  TEST_STORE,
  type TestClient,
  testClient,
  waitForStatus,
} from '../test-support';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Setup {
  dir: TemporaryDirectory;
  llm: ScriptedLLMServer;
  server: FerryServer;
  client: TestClient;
}

async function setup(
  options: Partial<StartServerOptions> = {},
  script: ScriptTurn[] = [],
): Promise<Setup> {
  const dir = await createTemporaryDirectory();
  cleanups.push(() => dir.remove());
  const llm = await startScriptedLLMServer({
    script,
    onExhausted: toolCall('finish', { message: 'done' }),
  });
  cleanups.push(() => llm.close());
  const server = await startTestServer(cleanups, {
    dataDir: join(dir.path, 'data'),
    ...options,
  });
  return { dir, llm, server, client: testClient(server) };
}

async function finishedConversation({ client, llm }: Setup): Promise<ConversationInfo> {
  const created = await client.request<ConversationInfo>('POST', '/api/conversations', {
    body: {
      agent: scriptedAgent(llm),
      initial_message: { content: [{ type: 'text', text: 'hello' }], run: true },
    },
  });
  return waitForStatus(client, created.body.id, ['finished']);
}

/** A new conversation holding one message, not run. */
async function idleConversation({ client, llm }: Setup): Promise<string> {
  const created = await client.request<ConversationInfo>('POST', '/api/conversations', {
    body: {
      agent: scriptedAgent(llm),
      initial_message: { content: [{ type: 'text', text: 'first' }] },
    },
  });
  return created.body.id;
}

/** A socket that records its frames and how it closed. */
interface RecordingSocket {
  socket: WebSocket;
  /** Every frame but the state snapshot sent first (`full_state`). */
  frames: string[];
  /** Every frame, in order. */
  all: string[];
  closed: Promise<{ code: number; reason: string }>;
  /** Resolves once `count` frames have arrived. */
  waitForFrames(count: number): Promise<string[]>;
}

function connect(
  server: FerryServer,
  path: string,
  options: { headers?: Record<string, string>; firstFrame?: unknown } = {},
): RecordingSocket {
  const socket = new WebSocket(`${server.url.replace('http', 'ws')}${path}`, {
    headers: options.headers ?? {},
  });
  const frames: string[] = [];
  const all: string[] = [];
  socket.on('message', (data: Buffer) => {
    const text = data.toString('utf8');
    all.push(text);
    if ((JSON.parse(text) as { key?: unknown }).key !== 'full_state') frames.push(text);
  });
  if (options.firstFrame !== undefined) {
    socket.on('open', () => socket.send(JSON.stringify(options.firstFrame)));
  }
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    socket.on('close', (code, reason) => resolve({ code, reason: reason.toString() }));
  });
  cleanups.push(async () => {
    socket.terminate();
    await closed;
  });
  return {
    socket,
    frames,
    all,
    closed,
    waitForFrames: (count) =>
      vi.waitFor(
        () => {
          if (frames.length < count) throw new Error(`${frames.length} of ${count} frames`);
          return frames;
        },
        { timeout: 20_000, interval: 10 },
      ),
  };
}

/** The lines of a conversation's event log, exactly as written (as stored, on PostgreSQL). */
async function logLines(server: FerryServer, id: string): Promise<string[]> {
  if (TEST_STORE === 'postgres') {
    const events = await server.conversations.store.readEvents(id);
    return events.map((event) => JSON.stringify(event));
  }
  const dir = join(server.dataDir, 'conversations', id.replaceAll('-', ''), 'events');
  const lines: string[] = [];
  for (const segment of (await readdir(dir)).sort()) {
    lines.push(...(await readFile(join(dir, segment), 'utf8')).split('\n').filter(Boolean));
  }
  return lines;
}

const key = `session_api_key=${TEST_API_KEY}`;

/** The ids of the events of a socket's frames. */
function eventIds(frames: readonly string[]): string[] {
  return frames.map((frame) => (JSON.parse(frame) as EventBody).id);
}

describe('/sockets/events/{id}', () => {
  it('replays every event as stored with resend_mode=all and ferry_events=full, then sends live ones', async () => {
    const state = await setup();
    const info = await finishedConversation(state);
    const lines = await logLines(state.server, info.id);

    const recording = connect(
      state.server,
      `/sockets/events/${info.id}?resend_mode=all&ferry_events=full&${key}`,
    );
    expect(await recording.waitForFrames(lines.length)).toEqual(lines);

    await state.client.request('POST', `/api/conversations/${info.id}/events`, {
      body: { content: [{ type: 'text', text: 'live one' }] },
    });
    const frames = await recording.waitForFrames(lines.length + 1);
    const live = JSON.parse(frames.at(-1) ?? '{}') as EventBody;
    expect(live.kind).toBe('MessageEvent');
    expect(JSON.stringify(live)).toContain('live one');
    expect((await logLines(state.server, info.id)).at(-1)).toBe(frames.at(-1));
  });

  it('resumes after an event id, or from a timestamp, and replays nothing by default', async () => {
    const state = await setup();
    const info = await finishedConversation(state);
    const events = await allEvents(state.client, info.id);
    const cursor = events[2];
    if (cursor === undefined) throw new Error('expected at least three events');

    const after = connect(
      state.server,
      `/sockets/events/${info.id}?after_event_id=${cursor.id}&${key}`,
    );
    const afterFrames = await after.waitForFrames(events.length - 3);
    expect(afterFrames.map((frame) => (JSON.parse(frame) as EventBody).id)).toEqual(
      events.slice(3).map((event) => event.id),
    );

    const since = connect(
      state.server,
      `/sockets/events/${info.id}?resend_mode=since&after_timestamp=${encodeURIComponent(cursor.timestamp)}&${key}`,
    );
    const expected = events.filter(
      (event) => Date.parse(event.timestamp) >= Date.parse(cursor.timestamp),
    );
    const sinceFrames = await since.waitForFrames(expected.length);
    expect(sinceFrames.map((frame) => (JSON.parse(frame) as EventBody).id)).toEqual(
      expected.map((event) => event.id),
    );

    // A message frame is handled once the subscription is ready, so its event comes live.
    const plain = connect(state.server, `/sockets/events/${info.id}?${key}`, {
      firstFrame: { role: 'user', content: [{ type: 'text', text: 'only this' }] },
    });
    const [first] = await plain.waitForFrames(1);
    expect(JSON.stringify(JSON.parse(first ?? '{}'))).toContain('only this');
    const old = new Set(events.map((event) => event.id));
    expect(plain.frames.some((frame) => old.has((JSON.parse(frame) as EventBody).id))).toBe(false);

    const unknown = connect(
      state.server,
      `/sockets/events/${info.id}?after_event_id=no-such-event&${key}`,
    );
    expect((await unknown.closed).code).toBe(1008);
  });

  it('streams a whole run live, state updates included, and runs messages sent on the socket', async () => {
    const state = await setup();
    const id = await idleConversation(state);
    const recording = connect(state.server, `/sockets/events/${id}?resend_mode=all`, {
      headers: { 'X-Session-API-Key': TEST_API_KEY },
    });
    await recording.waitForFrames(1);
    recording.socket.send(
      JSON.stringify({ role: 'user', content: [{ type: 'text', text: 'go' }] }),
    );
    await vi.waitFor(
      () => {
        const statuses = recording.frames
          .map((frame) => JSON.parse(frame) as EventBody)
          .filter((event) => event.key === 'execution_status')
          .map((event) => event.value);
        if (!statuses.includes('finished')) throw new Error('not finished yet');
        expect(statuses).toEqual(['running', 'finished']);
      },
      { timeout: 20_000, interval: 10 },
    );
    const events = await allEvents(state.client, id);
    expect(recording.frames.map((frame) => (JSON.parse(frame) as EventBody).id)).toEqual(
      events.map((event) => event.id),
    );
    // The state first, and again once the run has ended, as OpenHands' server sends them.
    const snapshots = () =>
      recording.all
        .map((frame) => JSON.parse(frame) as EventBody)
        .filter((event) => event.key === 'full_state')
        .map((event) => (event.value as { execution_status?: unknown }).execution_status);
    expect(JSON.parse(recording.all[0] ?? '{}')).toMatchObject({ key: 'full_state' });
    await vi.waitFor(() => expect(snapshots()).toEqual(['idle', 'finished']));
    expect(JSON.parse(recording.all.at(-1) ?? '{}')).toMatchObject({ key: 'full_state' });
  });

  it('sends every event appended after a socket connects, however late it authenticates', async () => {
    const state = await setup();
    const id = await idleConversation(state);
    const before = await allEvents(state.client, id);
    // Connected at once, but authenticating only after the whole run has finished.
    const late = connect(state.server, `/sockets/events/${id}`);
    const byQuery = connect(state.server, `/sockets/events/${id}?${key}`);
    await Promise.all(
      [late, byQuery].map(
        ({ socket }) => new Promise((resolve) => socket.once('open', () => resolve(undefined))),
      ),
    );
    await state.client.request('POST', `/api/conversations/${id}/run`);
    await waitForStatus(state.client, id, ['finished']);
    late.socket.send(JSON.stringify({ type: 'auth', session_api_key: TEST_API_KEY }));

    const run = (await allEvents(state.client, id)).slice(before.length).map((event) => event.id);
    expect(run.length).toBeGreaterThan(2);
    for (const recording of [late, byQuery]) {
      await recording.waitForFrames(run.length);
      expect(eventIds(recording.frames)).toEqual(run);
    }
  });

  it('gives a socket connecting at any moment of a run the rest of the log, once each', async () => {
    // Slow turns, so sockets connect between the steps of the run.
    const state = await setup({}, [
      toolCall('think', { thought: 'one' }, { delayMs: 100 }),
      toolCall('think', { thought: 'two' }, { delayMs: 100 }),
      toolCall('think', { thought: 'three' }, { delayMs: 100 }),
    ]);
    const created = await state.client.request<ConversationInfo>('POST', '/api/conversations', {
      body: {
        agent: scriptedAgent(state.llm, { tools: ['think'] }),
        initial_message: { content: [{ type: 'text', text: 'think thrice' }], run: true },
      },
    });
    const id = created.body.id;
    // One socket right after creation, then one each time the log grows, until it finishes.
    // With each socket, the log's length once it is open: a bound on where it must start.
    const sockets: { recording: RecordingSocket; openedAt: Promise<number> }[] = [];
    const count = async () =>
      (await state.client.request<number>('GET', `/api/conversations/${id}/events/count`)).body;
    let seen = -1;
    await vi.waitFor(
      async () => {
        const now = await count();
        if (now !== seen) {
          seen = now;
          const recording = connect(state.server, `/sockets/events/${id}?${key}`);
          const openedAt = new Promise<number>((resolve) => {
            recording.socket.once('open', () => resolve(count()));
          });
          sockets.push({ recording, openedAt });
        }
        const info = await state.client.request<ConversationInfo>(
          'GET',
          `/api/conversations/${id}`,
        );
        if (info.body.execution_status !== 'finished') throw new Error('still running');
      },
      { timeout: 20_000, interval: 5 },
    );
    await waitForStatus(state.client, id, ['finished']);
    const log = (await allEvents(state.client, id)).map((event) => event.id);
    expect(sockets.length).toBeGreaterThan(1);
    for (const { recording, openedAt } of sockets) {
      const bound = await openedAt;
      // Synchronised on what it must have: every event appended since it was open, up to the
      // last if any. It may have started earlier (its place is taken when it connects), so a count
      // alone is met before the last live event arrives, which can come later than the HTTP
      // answers when a cluster's shared store delivers it.
      await vi.waitFor(() => {
        const ids = eventIds(recording.frames);
        expect(ids.length).toBeGreaterThanOrEqual(log.length - bound);
        if (ids.length > 0) expect(ids.at(-1)).toBe(log.at(-1));
      });
      const ids = eventIds(recording.frames);
      // A suffix of the log: no gap, no duplicate.
      expect(ids).toEqual(log.slice(log.length - ids.length));
    }
  });

  it('authenticates by header, query parameter or first frame, and closes 4001 otherwise', async () => {
    const state = await setup();
    const info = await finishedConversation(state);
    const path = `/sockets/events/${info.id}?resend_mode=all`;

    const byFrame = connect(state.server, path, {
      firstFrame: { type: 'auth', session_api_key: TEST_API_KEY },
    });
    expect((await byFrame.waitForFrames(1)).length).toBeGreaterThan(0);
    const byQuery = connect(state.server, `${path}&${key}`);
    await byQuery.waitForFrames(1);
    const byHeader = connect(state.server, path, {
      headers: { 'X-Session-API-Key': TEST_API_KEY },
    });
    await byHeader.waitForFrames(1);

    const wrongQuery = connect(state.server, `${path}&session_api_key=wrong`);
    const wrongFrame = connect(state.server, path, {
      firstFrame: { type: 'auth', session_api_key: 'wrong' },
    });
    const notAuth = connect(state.server, path, { firstFrame: { role: 'user', content: [] } });
    for (const refused of [wrongQuery, wrongFrame, notAuth]) {
      expect((await refused.closed).code).toBe(4001);
      expect(refused.frames).toEqual([]);
    }
  });

  it('answers a frame that is not a message with an error, and appends or runs nothing', async () => {
    const state = await setup();
    const info = await finishedConversation(state);
    const before = await allEvents(state.client, info.id);
    const recording = connect(state.server, `/sockets/events/${info.id}?${key}`);
    await vi.waitFor(() => expect(state.server.conversations.subscriberCount(info.id)).toBe(1));
    for (const frame of ['{}', '{"junk":true}', '{"role":"user","content":[]}', 'not json']) {
      recording.socket.send(frame);
    }
    const answers = (await recording.waitForFrames(4)).map(
      (frame) => JSON.parse(frame) as { kind: string; code: string },
    );
    for (const answer of answers) {
      expect(answer).toMatchObject({ kind: 'ServerErrorEvent', code: 'VALIDATION_ERROR' });
    }
    expect(await allEvents(state.client, info.id)).toEqual(before);
  });

  it('closes 4029 for a client that presented too many wrong keys', async () => {
    const state = await setup();
    const info = await finishedConversation(state);
    const path = `/sockets/events/${info.id}?resend_mode=all`;
    const codes: number[] = [];
    for (let attempt = 0; attempt < 40; attempt += 1) {
      const refused = connect(state.server, `${path}&session_api_key=wrong-${attempt}`);
      codes.push((await refused.closed).code);
    }
    expect(codes.slice(0, 30).every((code) => code === 4001)).toBe(true);
    expect(codes.slice(30).every((code) => code === 4029)).toBe(true);
    const rightKey = connect(state.server, `${path}&${key}`);
    const closed = await rightKey.closed;
    expect(closed.code).toBe(4029);
    expect(closed.reason).toMatch(/^Too many wrong API keys: retry in \d+ s$/);
    expect((await state.client.request('GET', '/api/conversations/count')).status).toBe(429);
  });

  it('closes 4004 for an unknown conversation, and when the conversation is deleted', async () => {
    const state = await setup();
    const unknown = connect(
      state.server,
      `/sockets/events/00000000-0000-4000-8000-000000000000?${key}`,
    );
    expect((await unknown.closed).code).toBe(4004);
    const invalid = connect(state.server, `/sockets/events/not-an-id?${key}`);
    expect((await invalid.closed).code).toBe(4004);

    const info = await finishedConversation(state);
    const watching = connect(state.server, `/sockets/events/${info.id}?resend_mode=all&${key}`);
    await watching.waitForFrames(1);
    await state.client.request('DELETE', `/api/conversations/${info.id}`);
    expect((await watching.closed).code).toBe(4004);
  });

  it('drops a subscriber that stops reading (4008) without holding back the conversation', async () => {
    const state = await setup({ subscriberBufferLimit: 64 * 1024 });
    const id = await idleConversation(state);
    const slow = connect(state.server, `/sockets/events/${id}?resend_mode=all&${key}`);
    await slow.waitForFrames(1);
    slow.socket.pause();
    const serverSide = () => [...state.server.app.websocketServer.clients][0];
    const big = 'x'.repeat(512 * 1024);
    let sent = 0;
    while (serverSide()?.readyState === WebSocket.OPEN && sent < 200) {
      const answer = await state.client.request('POST', `/api/conversations/${id}/events`, {
        body: { content: [{ type: 'text', text: big }] },
      });
      expect(answer.status).toBe(200);
      sent += 1;
    }
    expect(serverSide()?.readyState).not.toBe(WebSocket.OPEN);
    slow.socket.resume();
    expect((await slow.closed).code).toBe(4008);
    expect(
      await state.client.request<number>('GET', `/api/conversations/${id}/events/count`),
    ).toEqual({ status: 200, body: sent + 1 });
  });

  it('closes subscribers with 1001 when the server shuts down', async () => {
    const state = await setup();
    const info = await finishedConversation(state);
    const watching = connect(state.server, `/sockets/events/${info.id}?resend_mode=all&${key}`);
    await watching.waitForFrames(1);
    await state.server.close();
    expect((await watching.closed).code).toBe(1001);
  });
});
