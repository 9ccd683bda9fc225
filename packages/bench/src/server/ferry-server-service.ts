import { startServer, type ConversationManager } from '@ferry/server';
import { spawn } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { peakRssMiB } from '../harness/child';
import { serveMethods } from '../harness/service';
import { epochMs } from '../harness/stats';

/** What the service tells the parent once it listens. */
export interface FerryServerReady {
  /** The Ferry server, e.g. `http://127.0.0.1:41234`. */
  url: string;
  /** A trivial `node:http` server in the same process that reads a request body and answers. */
  sinkUrl: string;
  /** RSS of this process once both listen, MiB. */
  startRssMiB: number;
}

/** What `stop` answers. */
export interface FerryServerStopped {
  /** Peak RSS of this process over its life (`maxRSS`), MiB. */
  peakRssMiB: number;
}

type OpenConversation = Awaited<ReturnType<ConversationManager['acquire']>>;

/**
 * A server that reads each request body to the end and answers with its length; on
 * `/extract?dir=...` it pipes the body (a `.tar.gz`) into `tar -xzf - -C dir` instead and
 * answers once tar is done (the teleport floor's other side).
 */
async function startSink(): Promise<Server> {
  const sink = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://sink');
    const dir = url.searchParams.get('dir');
    if (url.pathname === '/extract' && dir !== null) {
      mkdirSync(dir, { recursive: true });
      const tar = spawn('tar', ['-xzf', '-', '-C', dir], { stdio: ['pipe', 'ignore', 'inherit'] });
      request.pipe(tar.stdin);
      tar.on('close', (code) => {
        response.writeHead(code === 0 ? 200 : 500, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ code }));
      });
      return;
    }
    let bytes = 0;
    request.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
    });
    request.on('end', () => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ bytes }));
    });
  });
  sink.listen(0, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    sink.once('listening', resolve);
    sink.once('error', reject);
  });
  return sink;
}

/**
 * A child process holding a real `@ferry/server` (port 0, API key, its own data folder) and a
 * raw upload sink, for the teleport and server benchmarks. Besides `stop`, it can hold
 * conversations open and note when each of their events is handed to subscribers
 * (`watch`/`fanOutTimes`), and say how many sockets subscribe to each (`subscribers`).
 */
export async function runFerryServerService(input: {
  dataDir: string;
  apiKey: string;
}): Promise<void> {
  const server = await startServer({
    host: '127.0.0.1',
    port: 0,
    dataDir: input.dataDir,
    apiKey: input.apiKey,
    // Nothing is closed for being idle while a benchmark runs.
    idleTimeout: 3600,
  });
  const sink = await startSink();
  const sinkPort = (sink.address() as AddressInfo).port;
  const watched: OpenConversation[] = [];
  const unsubscribe: (() => void)[] = [];
  // Event id -> when the server told its listeners (after the durable append).
  let fanOut = new Map<string, number>();
  const ready: FerryServerReady = {
    url: server.url,
    sinkUrl: `http://127.0.0.1:${sinkPort}`,
    startRssMiB: process.memoryUsage().rss / 2 ** 20,
  };
  serveMethods(ready, {
    /**
     * Holds these conversations open and notes the time each new event reaches the listeners.
     * Called before the subscribers connect, so this listener comes first and the time is taken
     * just before the sockets are written to.
     */
    watch: async (value) => {
      const { ids } = value as { ids: string[] };
      for (const id of ids) {
        const entry = await server.conversations.acquire(id);
        watched.push(entry);
        unsubscribe.push(entry.onEvent((event) => fanOut.set(event.id, epochMs())));
      }
      return null;
    },
    subscribers: (value) =>
      (value as { ids: string[] }).ids.map((id) => server.conversations.subscriberCount(id)),
    /** CPU time this process has used so far (user + system), ms. */
    cpuMs: () => {
      const usage = process.cpuUsage();
      return (usage.user + usage.system) / 1000;
    },
    fanOutTimes: () => {
      const times = Object.fromEntries(fanOut);
      fanOut = new Map();
      return times;
    },
    stop: async () => {
      for (const stop of unsubscribe) stop();
      for (const entry of watched) server.conversations.release(entry);
      await server.close();
      await new Promise<void>((resolve) => sink.close(() => resolve()));
      const stopped: FerryServerStopped = { peakRssMiB: peakRssMiB() };
      return stopped;
    },
  });
}
