import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  startScriptedLLMServer,
  text,
  toolCall,
  type ScriptedLLMServer,
} from '@ferry/sdk-core/testing';
import { benchAgent } from '../fixtures/write-fixtures';
import { startService, type ServiceHandle } from '../harness/service';
import { epochMs, percentile, summarize, type Summary } from '../harness/stats';
import { openWebSocket, type WebSocketSubscriber } from '../harness/websocket-client';
import type { FerryServerReady, FerryServerStopped } from '../server/ferry-server-service';

/** How many conversations run at once, how many tool steps each, and how many runs. */
export interface ServerSize {
  conversations: number;
  steps: number;
  repetitions: number;
}

/** What one repetition measured. */
interface ServerSample {
  /** Events appended while the conversations ran (server-side count). */
  events: number;
  /** From the first run request to the last conversation's `finished`, seen by its subscriber. */
  seconds: number;
  eventsPerSecond: number;
  /** Delivery latency from the event's timestamp (taken before its durable append). */
  fromTimestampP50: number;
  fromTimestampP99: number;
  /** Delivery latency from the moment the server handed the event to its subscribers. */
  fromFanOutP50: number;
  fromFanOutP99: number;
  /** Events in the logs that a subscriber never received. */
  lost: number;
  /** Events a subscriber received more than once. */
  duplicated: number;
  /** Conversations whose subscriber saw the events in another order than the log's. */
  outOfOrder: number;
  /** Subscribers the server closed before the end. */
  dropped: number;
  /** Events in all the logs at the end. */
  logged: number;
  llmRequests: number;
  /** CPU time the server process used during the runs, over their wall time (1 = one core). */
  serverCpuShare: number;
  /** Server CPU time per LLM call (a step), ms. */
  serverCpuPerCallMs: number;
  /** CPU time of the benchmark process (the model and the subscribers), over the wall time. */
  clientCpuShare: number;
  startRssMiB: number;
  peakRssMiB: number;
}

/** The figures of one size over its repetitions. */
export interface ServerResult {
  conversations: number;
  steps: number;
  repetitions: number;
  /** Events appended during one repetition (median). */
  events: Summary;
  seconds: Summary;
  eventsPerSecond: Summary;
  fromTimestampP50: Summary;
  fromTimestampP99: Summary;
  fromFanOutP50: Summary;
  fromFanOutP99: Summary;
  /** Totals over every repetition. */
  lost: number;
  duplicated: number;
  outOfOrder: number;
  dropped: number;
  /** Events in the logs, over every repetition: what `lost` is out of. */
  logged: number;
  llmRequests: Summary;
  serverCpuShare: Summary;
  serverCpuPerCallMs: Summary;
  clientCpuShare: Summary;
  startRssMiB: Summary;
  peakRssMiB: Summary;
}

export interface ServerSuiteResult {
  sizes: ServerResult[];
}

const API_KEY = 'bench-server-key';
const TERMINAL_STATUSES = new Set(['finished', 'error', 'stuck']);
/** How long one repetition may take before the benchmark gives up on it. */
const RUN_TIMEOUT_MS = 10 * 60_000;
const POLL_MS = 20;

interface Received {
  id: string;
  timestamp: string;
  receivedAt: number;
}

/** One WebSocket subscriber and what it received. */
class Subscriber {
  readonly received: Received[] = [];
  /** The terminal status it saw, once it has. */
  status: string | undefined;
  finishedAt: number | undefined;
  /** The server closed the socket before the benchmark did. */
  closedEarly = false;
  closing = false;
  socket: WebSocketSubscriber | undefined;

  constructor(readonly conversationId: string) {}

  onFrame(frame: string, receivedAt: number): void {
    const event = JSON.parse(frame) as {
      id?: string;
      timestamp?: string;
      kind?: string;
      key?: string;
      value?: unknown;
    };
    if (event.id === undefined || event.timestamp === undefined) return;
    // The state snapshots the server sends (first, and after each run) are not logged events.
    if (event.key === 'full_state') return;
    this.received.push({ id: event.id, timestamp: event.timestamp, receivedAt });
    if (
      event.kind === 'ConversationStateUpdateEvent' &&
      event.key === 'execution_status' &&
      typeof event.value === 'string' &&
      TERMINAL_STATUSES.has(event.value)
    ) {
      this.status = event.value;
      this.finishedAt = receivedAt;
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    this.socket?.close();
    await this.socket?.closed;
  }
}

/** Subscribes to a conversation's events socket, replaying everything stored so far. */
async function subscribe(url: string, conversationId: string): Promise<Subscriber> {
  const subscriber = new Subscriber(conversationId);
  const socketUrl =
    `${url.replace(/^http:/, 'ws:')}/sockets/events/${conversationId}` +
    `?resend_mode=all&session_api_key=${API_KEY}`;
  const socket = await openWebSocket(socketUrl, (frame, receivedAt) =>
    subscriber.onFrame(frame, receivedAt),
  );
  subscriber.socket = socket;
  void socket.closed.then(() => {
    if (!subscriber.closing) subscriber.closedEarly = true;
  });
  return subscriber;
}

async function waitUntil(
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`server benchmark: timed out waiting for ${what}`);
    await sleep(POLL_MS);
  }
}

async function api<T>(
  url: string,
  path: string,
  init: { method?: string; json?: unknown } = {},
): Promise<T> {
  const response = await fetch(`${url}${path}`, {
    method: init.method ?? 'GET',
    headers: {
      'x-session-api-key': API_KEY,
      ...(init.json === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(init.json === undefined ? {} : { body: JSON.stringify(init.json) }),
  });
  const body = await response.text();
  if (!response.ok) {
    throw new Error(
      `server benchmark: ${init.method ?? 'GET'} ${path} answered ${response.status}: ${body}`,
    );
  }
  return JSON.parse(body) as T;
}

/** Every event id of a conversation's log, in log order, through the events search route. */
async function logIds(url: string, id: string): Promise<string[]> {
  const ids: string[] = [];
  let page: string | null = null;
  for (let pages = 0; pages < 10_000; pages += 1) {
    const query: string = page === null ? '' : `&page_id=${encodeURIComponent(page)}`;
    const result = await api<{ items: { id: string }[]; next_page_id: string | null }>(
      url,
      `/api/conversations/${id}/events/search?limit=100${query}`,
    );
    ids.push(...result.items.map((event) => event.id));
    page = result.next_page_id;
    if (page === null) return ids;
  }
  throw new Error(`server benchmark: the log of ${id} has too many pages`);
}

/** The scripted model: `steps` calls of the `think` tool, then a reply that ends the run. */
function scriptedModel(steps: number): Promise<ScriptedLLMServer> {
  return startScriptedLLMServer({
    respond: (request) => {
      const done = request.messages.filter((message) => message.role === 'tool').length;
      return done < steps
        ? toolCall('think', { thought: `Step ${done + 1} of ${steps}: look at the next file.` })
        : text('Done: every step is complete.');
    },
  });
}

async function runOnce(options: {
  workDir: string;
  size: ServerSize;
  repetition: number;
}): Promise<ServerSample> {
  const { size } = options;
  await using llm = await scriptedModel(size.steps);
  const server: ServiceHandle<FerryServerReady> = await startService<FerryServerReady>(
    'ferry-server',
    { dataDir: join(options.workDir, `server-${options.repetition}`), apiKey: API_KEY },
  );
  const { url } = server.ready;
  let subscribers: Subscriber[] = [];
  try {
    const ids = Array.from({ length: size.conversations }, () => randomUUID());
    await Promise.all(
      ids.map((id) =>
        api(url, '/api/conversations', {
          method: 'POST',
          json: {
            conversation_id: id,
            agent: benchAgent(llm.baseUrl, ['think']),
            stuck_detection: false,
            max_iterations: size.steps + 10,
          },
        }),
      ),
    );
    // The server's own listener goes on first, then one socket per conversation.
    await server.call('watch', { ids });
    subscribers = await Promise.all(ids.map((id) => subscribe(url, id)));
    await waitUntil(
      async () =>
        (await server.call<number[]>('subscribers', { ids })).every((count) => count >= 1),
      30_000,
      'every subscriber to be registered',
    );

    const cpuBefore = await server.call<number>('cpuMs');
    const requestsBefore = llm.requests.length;
    const clientCpuBefore = process.cpuUsage();
    const startedAt = epochMs();
    await Promise.all(
      ids.map((id) =>
        api(url, `/api/conversations/${id}/events`, {
          method: 'POST',
          json: {
            role: 'user',
            content: [{ type: 'text', text: 'Run the scripted task.' }],
            run: true,
          },
        }),
      ),
    );
    await waitUntil(
      () =>
        subscribers.every(
          (subscriber) => subscriber.status !== undefined || subscriber.closedEarly,
        ),
      RUN_TIMEOUT_MS,
      `${size.conversations} conversations to finish`,
    );
    const failed = subscribers.filter((subscriber) => subscriber.status !== 'finished');
    if (failed.some((subscriber) => !subscriber.closedEarly)) {
      throw new Error(
        `server benchmark: ${failed.length} conversations did not finish ` +
          `(${failed.map((subscriber) => subscriber.status ?? 'dropped').join(', ')})`,
      );
    }
    const endedAt = Math.max(...subscribers.map((subscriber) => subscriber.finishedAt ?? 0));
    const clientCpu = process.cpuUsage(clientCpuBefore);
    const cpuMs = (await server.call<number>('cpuMs')) - cpuBefore;
    const llmRequests = llm.requests.length - requestsBefore;

    // Compare every subscriber with its conversation's log. Frames still in flight get a moment.
    const logs = await Promise.all(ids.map((id) => logIds(url, id)));
    await waitUntil(
      () =>
        subscribers.every(
          (subscriber, index) =>
            subscriber.closedEarly || subscriber.received.length >= (logs[index]?.length ?? 0),
        ),
      2_000,
      'the last frames',
    ).catch(() => undefined);

    let lost = 0;
    let duplicated = 0;
    let outOfOrder = 0;
    for (const [index, subscriber] of subscribers.entries()) {
      const log = logs[index] ?? [];
      const got = subscriber.received.map((event) => event.id);
      const seen = new Set(got);
      duplicated += got.length - seen.size;
      lost += log.filter((id) => !seen.has(id)).length;
      const inLog = new Set(log);
      const order = got.filter((id) => inLog.has(id));
      if (order.some((id, position) => log[position] !== id)) outOfOrder += 1;
    }

    const fanOut = await server.call<Record<string, number>>('fanOutTimes');
    const fromTimestamp: number[] = [];
    const fromFanOut: number[] = [];
    for (const subscriber of subscribers) {
      for (const event of subscriber.received) {
        const handedAt = fanOut[event.id];
        // Events replayed from before the run (the conversation's creation) have no fan-out time.
        if (handedAt === undefined) continue;
        fromFanOut.push(event.receivedAt - handedAt);
        fromTimestamp.push(event.receivedAt - Date.parse(event.timestamp));
      }
    }
    if (fromFanOut.length === 0) throw new Error('server benchmark: no live event was received');
    const events = Object.keys(fanOut).length;
    const seconds = (endedAt - startedAt) / 1000;
    const dropped = subscribers.filter((subscriber) => subscriber.closedEarly).length;
    await Promise.all(subscribers.map((subscriber) => subscriber.close()));
    const stopped = await server.stop<FerryServerStopped>();
    return {
      events,
      seconds,
      eventsPerSecond: events / seconds,
      fromTimestampP50: percentile(fromTimestamp, 50),
      fromTimestampP99: percentile(fromTimestamp, 99),
      fromFanOutP50: percentile(fromFanOut, 50),
      fromFanOutP99: percentile(fromFanOut, 99),
      lost,
      duplicated,
      outOfOrder,
      dropped,
      logged: logs.reduce((sum, log) => sum + log.length, 0),
      llmRequests,
      serverCpuShare: cpuMs / (endedAt - startedAt),
      serverCpuPerCallMs: cpuMs / llmRequests,
      clientCpuShare: (clientCpu.user + clientCpu.system) / 1000 / (endedAt - startedAt),
      startRssMiB: server.ready.startRssMiB,
      peakRssMiB: stopped.peakRssMiB,
    };
  } catch (error) {
    await Promise.all(subscribers.map((subscriber) => subscriber.close()));
    await server.stop().catch(() => undefined);
    throw error;
  }
}

/**
 * Runs `conversations` scripted conversations at once on one `@ferry/server` (a fresh child
 * process per repetition), each `steps` calls of the `think` tool then a reply, against a scripted
 * OpenAI-compatible model in this process, with one raw WebSocket subscriber per conversation.
 */
export async function runServerSuite(options: {
  workDir: string;
  sizes: readonly ServerSize[];
  log: (message: string) => void;
}): Promise<ServerSuiteResult> {
  const results: ServerResult[] = [];
  for (const size of options.sizes) {
    const samples: ServerSample[] = [];
    for (let repetition = 0; repetition < size.repetitions; repetition += 1) {
      samples.push(await runOnce({ workDir: options.workDir, size, repetition }));
      options.log(
        `server: ${size.conversations} conversations x ${size.steps} steps, ` +
          `repetition ${repetition + 1}/${size.repetitions}`,
      );
    }
    const of = (pick: (sample: ServerSample) => number) => summarize(samples.map(pick));
    const total = (pick: (sample: ServerSample) => number) =>
      samples.reduce((sum, sample) => sum + pick(sample), 0);
    results.push({
      conversations: size.conversations,
      steps: size.steps,
      repetitions: size.repetitions,
      events: of((sample) => sample.events),
      seconds: of((sample) => sample.seconds),
      eventsPerSecond: of((sample) => sample.eventsPerSecond),
      fromTimestampP50: of((sample) => sample.fromTimestampP50),
      fromTimestampP99: of((sample) => sample.fromTimestampP99),
      fromFanOutP50: of((sample) => sample.fromFanOutP50),
      fromFanOutP99: of((sample) => sample.fromFanOutP99),
      lost: total((sample) => sample.lost),
      duplicated: total((sample) => sample.duplicated),
      outOfOrder: total((sample) => sample.outOfOrder),
      dropped: total((sample) => sample.dropped),
      logged: total((sample) => sample.logged),
      llmRequests: of((sample) => sample.llmRequests),
      serverCpuShare: of((sample) => sample.serverCpuShare),
      serverCpuPerCallMs: of((sample) => sample.serverCpuPerCallMs),
      clientCpuShare: of((sample) => sample.clientCpuShare),
      startRssMiB: of((sample) => sample.startRssMiB),
      peakRssMiB: of((sample) => sample.peakRssMiB),
    });
  }
  return { sizes: results };
}
