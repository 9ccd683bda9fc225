import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createTemporaryDirectory,
  startScriptedLLMServer,
  toolCall,
  type ScriptTurn,
  type ScriptedLLMServer,
  type TemporaryDirectory,
} from '@ferry/sdk-core/testing';
import { openRawWebSocket, type RawWebSocket } from './hostile-websocket';
import { RELIABILITY_STORE, serverStore, type ServerStore } from './reliability-store';

// The server under load: CONVERSATIONS conversations at once, each running a short scripted task
// with a WebSocket subscriber, in waves (one more message and run for every conversation per
// wave). In CI the waves go on for LOAD_MS (about a minute, two at most with the checks);
// FERRY_SOAK_MINUTES=<n> makes it a soak of n minutes. Then the subscribers are compared with
// the logs, idle eviction must bring the server's memory back near its baseline, and a restart on
// the same data folder must find every conversation finished with every event.
// FERRY_LOAD_CONVERSATIONS changes the number of conversations; FERRY_LOAD_SNAPSHOTS=<folder>
// writes the server's heap snapshots there (baseline, after eviction) to see what stays.

const CHILD = fileURLToPath(new URL('./load-server-child.js', import.meta.url));
const CONVERSATIONS = Number(process.env.FERRY_LOAD_CONVERSATIONS ?? 200);
const SOAK_MINUTES = Number(process.env.FERRY_SOAK_MINUTES ?? 0);
/** A folder to write the server's heap snapshots to (baseline and after eviction), if set. */
const SNAPSHOTS = process.env.FERRY_LOAD_SNAPSHOTS;
const LOAD_MS = SOAK_MINUTES > 0 ? SOAK_MINUTES * 60_000 : 45_000;
const API_KEY = 'load-test-api-key';
const SECRET_KEY = randomBytes(32).toString('hex');
/** Seconds an unused conversation stays open on the server under test. */
const IDLE_TIMEOUT_SECONDS = 2;
/**
 * How far above its baseline the server's heap (after a full collection) may stay once every
 * conversation was evicted: generous, since the first conversations load code for good (tools,
 * the LLM client, schemas); a leak of a few hundred KiB per conversation exceeds it.
 */
const HEAP_BOUND_BYTES = 48 * 1024 * 1024;
/** Requests at once while creating or checking conversations. */
const BATCH = 25;
const MIB = 1024 * 1024;

/** The short task: two task_tracker steps after each user message, then `finish`. */
function loadTurn(request: { messages: readonly { role: string }[] }): ScriptTurn {
  const lastUser = request.messages.map((message) => message.role).lastIndexOf('user');
  const done = request.messages.slice(lastUser + 1).filter((message) => message.role === 'tool');
  if (done.length < 2) {
    return toolCall('task_tracker', {
      command: 'plan',
      task_list: [{ title: `load step ${done.length + 1}` }],
    });
  }
  return toolCall('finish', { message: 'Load step done.' });
}

interface Memory {
  rss: number;
  heapUsed: number;
  open: number;
}

/** The server child: a Ferry server in its own process, with --expose-gc. */
interface LoadServer {
  url: string;
  child: ChildProcess;
  memory(gc: boolean): Promise<Memory>;
  /** Writes a heap snapshot (after a collection) to `path`. */
  snapshot(path: string): Promise<void>;
  kill(): Promise<void>;
}

async function startLoadServer(dataDir: string, store: ServerStore): Promise<LoadServer> {
  const child = fork(
    CHILD,
    [
      JSON.stringify({
        dataDir,
        apiKey: API_KEY,
        secretKey: SECRET_KEY,
        idleTimeout: IDLE_TIMEOUT_SECONDS,
        ...store.options,
      }),
    ],
    { execArgv: ['--expose-gc'], stdio: ['ignore', 'pipe', 'pipe', 'ipc'] },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = once(child, 'exit');
  const url = await new Promise<string>((resolve, reject) => {
    child.on('message', (message: { type?: string; url?: string }) => {
      if (message.type === 'listening' && message.url !== undefined) resolve(message.url);
    });
    child.once('exit', (code) => reject(new Error(`server child exited (${code}): ${output}`)));
  });
  // One question at a time, so each answer belongs to its question.
  let queue: Promise<unknown> = Promise.resolve();
  const memory = (gc: boolean) => {
    const asked = queue.then(
      () =>
        new Promise<Memory>((resolve) => {
          const listener = (message: Memory & { type?: string }) => {
            if (message.type !== 'memory') return;
            child.off('message', listener);
            resolve({ rss: message.rss, heapUsed: message.heapUsed, open: message.open });
          };
          child.on('message', listener);
          child.send({ type: 'memory', gc });
        }),
    );
    queue = asked.catch(() => undefined);
    return asked;
  };
  const snapshot = (path: string) => {
    const written = queue.then(
      () =>
        new Promise<void>((resolve) => {
          const listener = (message: { type?: string }) => {
            if (message.type !== 'snapshot') return;
            child.off('message', listener);
            resolve();
          };
          child.on('message', listener);
          child.send({ type: 'snapshot', path });
        }),
    );
    queue = written.catch(() => undefined);
    return written;
  };
  return {
    url,
    child,
    memory,
    snapshot,
    kill: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await exited;
    },
  };
}

interface StoredEventBody {
  id: string;
  kind: string;
  key?: string;
  value?: unknown;
}

/** One subscriber: its socket and what it has read of it so far. */
interface Subscriber {
  id: string;
  socket: RawWebSocket;
  events: StoredEventBody[];
  finished: number;
  read: number;
}

/** Reads the subscriber's new messages: events, and how many runs ended `finished`. */
function catchUp(subscriber: Subscriber): void {
  const messages = subscriber.socket.messages;
  for (; subscriber.read < messages.length; subscriber.read += 1) {
    const event = JSON.parse(messages[subscriber.read] as string) as StoredEventBody;
    // The state snapshots (first, and after each run) are not events of the log.
    if (event.key === 'full_state') continue;
    subscriber.events.push(event);
    if (
      event.kind === 'ConversationStateUpdateEvent' &&
      event.key === 'execution_status' &&
      event.value === 'finished'
    ) {
      subscriber.finished += 1;
    }
  }
}

/** Runs `work` on every item, `BATCH` at a time. */
async function inBatches<T, R>(items: readonly T[], work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = [];
  for (let start = 0; start < items.length; start += BATCH) {
    results.push(...(await Promise.all(items.slice(start, start + BATCH).map(work))));
  }
  return results;
}

/** Polls `check` every 100 ms until it holds, failing with `what` after `limitMs`. */
async function until(check: () => boolean | Promise<boolean>, limitMs: number, what: string) {
  const deadline = Date.now() + limitMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('the server under load', () => {
  let llm: ScriptedLLMServer;
  let temporary: TemporaryDirectory;
  let server: LoadServer | undefined;
  let store: ServerStore;
  const subscribers: Subscriber[] = [];

  beforeAll(async () => {
    llm = await startScriptedLLMServer({ respond: (request) => loadTurn(request) });
    temporary = await createTemporaryDirectory({ prefix: 'ferry-load-' });
    store = await serverStore('load');
  });
  afterAll(async () => {
    for (const subscriber of subscribers) subscriber.socket.destroy();
    await server?.kill();
    await store?.drop();
    await llm?.close();
    await temporary?.[Symbol.asyncDispose]();
  });

  const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
    const response = await fetch(`${server?.url}${path}`, {
      method,
      headers: {
        'X-Session-API-Key': API_KEY,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
    return (text === '' ? undefined : JSON.parse(text)) as T;
  };

  /** Every event of the conversation as the server's log holds it, in order. */
  const logOf = async (id: string): Promise<StoredEventBody[]> => {
    const events: StoredEventBody[] = [];
    let pageId: string | null = null;
    for (let page = 0; page < 1000; page += 1) {
      const query: string = pageId === null ? '' : `&page_id=${pageId}`;
      const body: { items: StoredEventBody[]; next_page_id: string | null } = await api(
        'GET',
        `/api/conversations/${id}/events/search?limit=100&sort_order=TIMESTAMP${query}`,
      );
      events.push(...body.items);
      pageId = body.next_page_id;
      if (pageId === null) return events;
    }
    throw new Error(`the log of ${id} has too many pages`);
  };

  /** Problems between what a subscriber saw and the log: lost, duplicated or reordered events. */
  const compare = (subscriber: Subscriber, log: readonly StoredEventBody[]): string[] => {
    const seen = subscriber.events.map((event) => event.id);
    const logged = log.map((event) => event.id);
    const problems: string[] = [];
    const unique = new Set(seen);
    if (unique.size !== seen.length) {
      problems.push(`${subscriber.id}: ${seen.length - unique.size} events seen twice`);
    }
    const lost = logged.filter((id) => !unique.has(id));
    if (lost.length > 0) problems.push(`${subscriber.id}: ${lost.length} logged events not seen`);
    if (problems.length === 0 && seen.join() !== logged.join()) {
      problems.push(`${subscriber.id}: the subscriber's order differs from the log's`);
    }
    return problems;
  };

  it(
    `runs ${CONVERSATIONS} concurrent conversations, loses no event, and gives memory back`,
    async () => {
      const dataDir = join(temporary.path, 'data');
      server = await startLoadServer(dataDir, store);
      const baseline = await server.memory(true);
      if (SNAPSHOTS !== undefined) await server.snapshot(join(SNAPSHOTS, 'baseline.heapsnapshot'));

      // The conversations, each with its subscriber (replaying from the start, then live).
      const agent = {
        llm: { model: 'load-model', base_url: llm.baseUrl, api_key: 'load-test-llm-key' },
        tools: [{ name: 'task_tracker' }],
      };
      const ids = await inBatches(
        Array.from({ length: CONVERSATIONS }, (_, index) => index),
        () => api<{ id: string }>('POST', '/api/conversations', { agent }).then((info) => info.id),
      );
      const url = server.url;
      subscribers.push(
        ...(await inBatches(ids, async (id) => {
          const socket = await openRawWebSocket(url, `/sockets/events/${id}?resend_mode=all`, {
            headers: { 'X-Session-API-Key': API_KEY },
          });
          expect(socket.status).toBe(101);
          return { id, socket, events: [], finished: 0, read: 0 };
        })),
      );

      // Waves: every conversation gets a message and runs, all at once, until LOAD_MS is spent.
      let peak = await server.memory(false);
      const sampler = setInterval(() => {
        void server
          ?.memory(false)
          .then((sample) => {
            peak = {
              rss: Math.max(peak.rss, sample.rss),
              heapUsed: Math.max(peak.heapUsed, sample.heapUsed),
              open: Math.max(peak.open, sample.open),
            };
          })
          .catch(() => undefined);
      }, 500);
      const started = Date.now();
      let waves = 0;
      try {
        // Bounded: at most one wave a second for the time given.
        const maxWaves = Math.max(1, Math.ceil(LOAD_MS / 1000));
        while (waves < maxWaves && (waves === 0 || Date.now() - started < LOAD_MS)) {
          waves += 1;
          const wave = waves;
          await Promise.all(
            subscribers.map((subscriber) =>
              api('POST', `/api/conversations/${subscriber.id}/events`, {
                role: 'user',
                content: [{ type: 'text', text: `Wave ${wave}: do the short task.` }],
                run: true,
              }),
            ),
          );
          await until(
            () => {
              for (const subscriber of subscribers) catchUp(subscriber);
              return subscribers.every((subscriber) => subscriber.finished >= wave);
            },
            300_000,
            `wave ${wave} to finish`,
          );
        }
      } finally {
        clearInterval(sampler);
      }
      const loadMs = Date.now() - started;

      // Every subscriber saw every event of the log once, in order.
      await until(
        async () => {
          for (const subscriber of subscribers) catchUp(subscriber);
          const counts = await inBatches(subscribers, async (subscriber) =>
            api<number>('GET', `/api/conversations/${subscriber.id}/events/count`),
          );
          return counts.every((count, index) => subscribers[index]?.events.length === count);
        },
        30_000,
        'the subscribers to catch up with the logs',
      );
      const logs = await inBatches(subscribers, (subscriber) => logOf(subscriber.id));
      const problems = subscribers.flatMap((subscriber, index) =>
        compare(subscriber, logs[index] ?? []),
      );
      expect(problems).toEqual([]);
      const events = logs.reduce((sum, log) => sum + log.length, 0);

      // Subscribers gone, the conversations go idle and are evicted: memory comes back.
      for (const subscriber of subscribers) subscriber.socket.destroy();
      const current = server;
      await until(
        async () => (await current.memory(false)).open === 0,
        IDLE_TIMEOUT_SECONDS * 1000 + 60_000,
        'idle eviction of every conversation',
      );
      // Closed conversations are garbage once their last callbacks have run: give the heap a
      // bounded while to come back, measuring after a collection each time.
      let after = await server.memory(true);
      for (let attempt = 0; attempt < 30; attempt += 1) {
        if (after.heapUsed - baseline.heapUsed < HEAP_BOUND_BYTES) break;
        await new Promise((resolve) => setTimeout(resolve, 1000));
        after = await server.memory(true);
      }
      if (SNAPSHOTS !== undefined) await server.snapshot(join(SNAPSHOTS, 'after.heapsnapshot'));

      // A restart on the same data folder: every conversation finished, every event there.
      await server.kill();
      server = await startLoadServer(dataDir, store);
      expect(await api<number>('GET', '/api/conversations/count')).toBe(CONVERSATIONS);
      const restarted = await inBatches(subscribers, async (subscriber) => {
        const state = await api<{ execution_status: string }>(
          'GET',
          `/api/conversations/${subscriber.id}`,
        );
        return {
          status: state.execution_status,
          problems: compare(subscriber, await logOf(subscriber.id)),
        };
      });
      expect(restarted.flatMap((result) => result.problems)).toEqual([]);
      expect(restarted.filter((result) => result.status !== 'finished')).toEqual([]);
      expect(subscribers.every((subscriber) => subscriber.finished === waves)).toBe(true);

      const mib = (bytes: number) => `${(bytes / MIB).toFixed(1)} MiB`;
      console.info(
        [
          `load (${RELIABILITY_STORE}): ${CONVERSATIONS} concurrent conversations, ${waves} waves of a short task each ` +
            `(${CONVERSATIONS * waves} runs) in ${(loadMs / 1000).toFixed(1)} s${SOAK_MINUTES > 0 ? ` (soak of ${SOAK_MINUTES} min)` : ''}`,
          `  events: ${events} logged, ${(events / (loadMs / 1000)).toFixed(0)} events/s, ` +
            `each seen once by its subscriber; lost: 0; after a restart all ${CONVERSATIONS} finished`,
          `  server heap (after gc): baseline ${mib(baseline.heapUsed)}, peak ${mib(peak.heapUsed)} ` +
            `(no gc), after idle eviction ${mib(after.heapUsed)} (bound: baseline + ${mib(HEAP_BOUND_BYTES)})`,
          `  server RSS: baseline ${mib(baseline.rss)}, peak ${mib(peak.rss)}, after eviction ${mib(after.rss)}; ` +
            `${peak.open} conversations open at the peak, ${after.open} after eviction`,
        ].join('\n'),
      );
      expect(after.open).toBe(0);
      expect(after.heapUsed - baseline.heapUsed).toBeLessThan(HEAP_BOUND_BYTES);
    },
    LOAD_MS + 240_000,
  );
});
