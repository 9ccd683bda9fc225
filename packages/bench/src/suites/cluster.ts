import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { startScriptedLLMServer, toolCall, type ScriptTurn } from '@ferry/sdk-core/testing';
import { PostgresStore } from '@ferry/store-postgres';
import { createTestDatabase, startTestPostgres } from '@ferry/store-postgres/testing';
import WebSocket from 'ws';
import { percentile } from '../harness/stats';

/** Sizes of the cluster suite. */
export interface ClusterSize {
  /** Conversations run at once in each setup. */
  conversations: number;
  /** `think` steps per run before `finish`. */
  steps: number;
  /** Conversations running on the replica that is killed. */
  takeoverConversations: number;
  /** Leases held for the renewal measurement. */
  leases: number;
  /** Seconds the renewal load is observed. */
  renewalWindowSeconds: number;
}

/** One setup's delivery figures: every event of every run, as its subscriber received it. */
export interface ClusterDelivery {
  setup: string;
  replicas: number;
  events: number;
  eventsPerSecond: number;
  /** From the event's timestamp (written by the runner) to its arrival on a socket, ms. */
  p50Ms: number;
  p99Ms: number;
}

/** What the cluster suite measured. */
export interface ClusterSuiteResult {
  size: ClusterSize;
  delivery: ClusterDelivery[];
  /** `--lease-ttl` of the takeover run, s. */
  takeoverTtlSeconds: number;
  /** From SIGKILL of the runner to the first event of a survivor on a watching socket, ms. */
  takeoverMs: number;
  /** Statements the store sent per second to renew `leases` leases (counted by the store). */
  renewal: { ttlSeconds: number; statementsPerSecond: number; storeStatements: number };
}

const CLI = join(
  dirname(createRequire(import.meta.url).resolve('@ferry/server/package.json')),
  'dist',
  'cli.js',
);

interface Replica {
  url: string;
  child: ChildProcess;
}

async function startReplica(dataDir: string, workspaceRoot: string, flags: string[]) {
  const child = spawn(
    process.execPath,
    [CLI, '--port', '0', '--data-dir', dataDir, '--workspace-root', workspaceRoot, ...flags],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, FERRY_API_KEY: '' } },
  );
  const problems: string[] = [];
  child.stderr?.on('data', (chunk: Buffer) => problems.push(chunk.toString()));
  // The CLI prints its URL on a line of its own once it listens (and has taken over its runs).
  const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
  const url = await new Promise<string>((resolve, reject) => {
    lines.on('line', (line) => {
      const found = /listening on (http:\/\/\S+)/.exec(line)?.[1];
      if (found !== undefined) resolve(found);
    });
    child.once('exit', (code) =>
      reject(new Error(`ferry-server exited (${code}): ${problems.join('')}`)),
    );
  });
  return { url, child };
}

async function stopReplica(replica: Replica, signal: NodeJS.Signals = 'SIGTERM') {
  if (replica.child.exitCode !== null || replica.child.signalCode !== null) return;
  const exited = once(replica.child, 'exit');
  replica.child.kill(signal);
  await exited;
}

async function post(url: string, body: unknown): Promise<unknown> {
  const response = await fetch(url, {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'content-type': 'application/json' },
  });
  if (!response.ok) throw new Error(`POST ${url}: ${response.status} ${await response.text()}`);
  return response.json();
}

function thinkTurns(steps: number, delayMs: number) {
  return async (request: { messages: readonly { role: string }[] }): Promise<ScriptTurn> => {
    if (delayMs > 0) await sleep(delayMs);
    const lastUser = request.messages.map((message) => message.role).lastIndexOf('user');
    const done = request.messages.slice(lastUser + 1).filter((message) => message.role === 'tool');
    if (done.length < steps) return toolCall('think', { thought: `step ${done.length + 1}` });
    return toolCall('finish', { message: 'done' });
  };
}

interface Watch {
  arrivals: { at: number; timestamp: string; kind: string }[];
  socket: WebSocket;
}

async function watch(url: string, id: string): Promise<Watch> {
  const socket = new WebSocket(`${url.replace(/^http/, 'ws')}/sockets/events/${id}`);
  const arrivals: Watch['arrivals'] = [];
  socket.on('message', (data: Buffer) => {
    const at = Date.now();
    const event = JSON.parse(data.toString('utf8')) as { timestamp?: string; kind?: string };
    if (typeof event.timestamp === 'string') {
      arrivals.push({ at, timestamp: event.timestamp, kind: event.kind ?? '' });
    }
  });
  socket.on('error', () => {});
  await once(socket, 'open');
  return { arrivals, socket };
}

/** Waits until every conversation is `finished` as `url` reports it. */
async function allFinished(url: string, ids: readonly string[]): Promise<void> {
  const deadline = Date.now() + 300_000;
  for (const id of ids) {
    for (;;) {
      const response = await fetch(`${url}/api/conversations/${id}`);
      const info = (await response.json()) as { execution_status?: string };
      if (info.execution_status === 'finished') break;
      if (Date.now() > deadline) throw new Error(`conversation ${id} did not finish`);
      await sleep(100);
    }
  }
}

async function deliveryRun(options: {
  setup: string;
  replicas: Replica[];
  llmUrl: string;
  size: ClusterSize;
}): Promise<ClusterDelivery> {
  const { replicas, size } = options;
  const agent = {
    kind: 'Agent',
    llm: { model: 'scripted', base_url: options.llmUrl, api_key: 'sk-bench' },
    tools: [{ name: 'think' }],
  };
  const ids: string[] = [];
  const watches: Watch[] = [];
  for (let index = 0; index < size.conversations; index += 1) {
    const owner = replicas[index % replicas.length] as Replica;
    const created = (await post(`${owner.url}/api/conversations`, { agent })) as { id: string };
    ids.push(created.id);
    const watcher = replicas[(index + 1) % replicas.length] as Replica;
    watches.push(await watch(watcher.url, created.id));
  }
  const started = Date.now();
  await Promise.all(
    ids.map((id, index) =>
      post(`${(replicas[index % replicas.length] as Replica).url}/api/conversations/${id}/events`, {
        role: 'user',
        content: [{ type: 'text', text: 'go' }],
        run: true,
      }),
    ),
  );
  await allFinished((replicas[0] as Replica).url, ids);
  // The last status events on their way to the sockets.
  await sleep(500);
  for (const item of watches) item.socket.terminate();
  const arrivals = watches.flatMap((item) => item.arrivals);
  const last = Math.max(...arrivals.map((arrival) => arrival.at));
  const latencies = arrivals.map((arrival) => arrival.at - Date.parse(arrival.timestamp));
  return {
    setup: options.setup,
    replicas: replicas.length,
    events: arrivals.length,
    eventsPerSecond: arrivals.length / ((last - started) / 1000),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  };
}

async function takeoverRun(options: {
  databaseUrl: string;
  workDir: string;
  size: ClusterSize;
  log: (message: string) => void;
}): Promise<{ ttlSeconds: number; ms: number }> {
  const ttlSeconds = 3;
  await using llm = await startScriptedLLMServer({ respond: thinkTurns(30, 200) });
  const replicas: Replica[] = [];
  for (let index = 0; index < 2; index += 1) {
    replicas.push(
      await startReplica(
        join(options.workDir, `takeover-${index}`),
        join(options.workDir, 'workspaces'),
        ['--database-url', options.databaseUrl, '--lease-ttl', String(ttlSeconds)],
      ),
    );
  }
  const [victim, survivor] = replicas as [Replica, Replica];
  try {
    const agent = {
      kind: 'Agent',
      llm: { model: 'scripted', base_url: llm.baseUrl, api_key: 'sk-bench' },
      tools: [{ name: 'think' }],
    };
    const watches: Watch[] = [];
    for (let index = 0; index < options.size.takeoverConversations; index += 1) {
      const created = (await post(`${victim.url}/api/conversations`, {
        agent,
        initial_message: { content: [{ type: 'text', text: 'go' }], run: true },
      })) as { id: string };
      watches.push(await watch(survivor.url, created.id));
    }
    await sleep(1_500);
    await stopReplica(victim, 'SIGKILL');
    const killedAt = Date.now();
    const counts = watches.map((item) => item.arrivals.length);
    const deadline = Date.now() + 60_000;
    let first: number | undefined;
    while (first === undefined && Date.now() < deadline) {
      await sleep(20);
      const after = watches.flatMap((item, index) => item.arrivals.slice(counts[index]));
      if (after.length > 0) first = Math.min(...after.map((arrival) => arrival.at));
    }
    for (const item of watches) item.socket.terminate();
    if (first === undefined) throw new Error('no survivor event within 60 s of the kill');
    options.log(`takeover: first survivor event ${first - killedAt} ms after the kill`);
    return { ttlSeconds, ms: first - killedAt };
  } finally {
    for (const replica of replicas) await stopReplica(replica);
  }
}

async function renewalRun(databaseUrl: string, size: ClusterSize) {
  const ttlSeconds = 3;
  const store = await PostgresStore.connect({
    connectionString: databaseUrl,
    leaseTtlMs: ttlSeconds * 1000,
  });
  try {
    for (let index = 0; index < size.leases; index += 1) {
      await store.acquireLease(crypto.randomUUID());
    }
    const before = store.renewalStatements;
    const start = Date.now();
    await sleep(size.renewalWindowSeconds * 1000);
    const statements = store.renewalStatements - before;
    // Every lease must still be this store's: the batches renewed them all.
    const lost = (await store.staleLeases()).length;
    if (lost > 0) throw new Error(`${lost} leases lapsed during the renewal run`);
    return {
      ttlSeconds,
      statementsPerSecond: statements / ((Date.now() - start) / 1000),
      storeStatements: statements,
    };
  } finally {
    await store.close();
  }
}

/**
 * The cluster suite: event throughput and delivery latency of 1, 2 and 3 `ferry-server
 * --database-url` replicas on one PostgreSQL beside one server on files (same load), the time
 * from a replica's SIGKILL to a survivor's first event, and the database statements that keep
 * 1,000 leases alive.
 */
export async function runClusterSuite(options: {
  workDir: string;
  size: ClusterSize;
  log: (message: string) => void;
}): Promise<ClusterSuiteResult> {
  const { workDir, size, log } = options;
  const server = await startTestPostgres();
  try {
    await using llm = await startScriptedLLMServer({ respond: thinkTurns(size.steps, 0) });
    const delivery: ClusterDelivery[] = [];
    const setups: { setup: string; replicas: number; database: boolean }[] = [
      { setup: 'one server on files', replicas: 1, database: false },
      { setup: '1 replica on PostgreSQL', replicas: 1, database: true },
      { setup: '2 replicas on PostgreSQL', replicas: 2, database: true },
      { setup: '3 replicas on PostgreSQL', replicas: 3, database: true },
    ];
    for (const [index, setup] of setups.entries()) {
      const database = setup.database
        ? await createTestDatabase(server.url, `bench_cluster_${index}`)
        : undefined;
      const root = join(workDir, `cluster-${index}`);
      await mkdir(root, { recursive: true });
      const replicas: Replica[] = [];
      try {
        for (let replica = 0; replica < setup.replicas; replica += 1) {
          replicas.push(
            await startReplica(
              join(root, `replica-${replica}`),
              join(root, 'workspaces'),
              database === undefined ? [] : ['--database-url', database.url],
            ),
          );
        }
        log(`cluster: ${setup.setup}`);
        delivery.push(
          await deliveryRun({ setup: setup.setup, replicas, llmUrl: llm.baseUrl, size }),
        );
      } finally {
        for (const replica of replicas) await stopReplica(replica);
        await database?.drop();
      }
    }
    const takeoverDatabase = await createTestDatabase(server.url, 'bench_takeover');
    let takeover: { ttlSeconds: number; ms: number };
    try {
      takeover = await takeoverRun({ databaseUrl: takeoverDatabase.url, workDir, size, log });
    } finally {
      await takeoverDatabase.drop();
    }
    const renewalDatabase = await createTestDatabase(server.url, 'bench_renewal');
    let renewal: ClusterSuiteResult['renewal'];
    try {
      log(`cluster: renewing ${size.leases} leases`);
      renewal = await renewalRun(renewalDatabase.url, size);
    } finally {
      await renewalDatabase.drop();
    }
    return {
      size,
      delivery,
      takeoverTtlSeconds: takeover.ttlSeconds,
      takeoverMs: takeover.ms,
      renewal,
    };
  } finally {
    await server.stop();
  }
}
