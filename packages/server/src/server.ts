import Fastify, { type FastifyInstance } from 'fastify';
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';

/** Options of {@link startServer}. */
export interface StartServerOptions {
  /** Interface to bind; defaults to `127.0.0.1`. */
  host?: string;
  /** Port to bind; `0` picks a free one (read it back from `server.url`). */
  port?: number;
  /** Folder that holds the conversations (created if missing). */
  dataDir: string;
  /** Folder under which each conversation's workspace lives; defaults to `<dataDir>/workspaces`. */
  workspaceRoot?: string;
  /** One key or several accepted in `X-Session-API-Key`; no key means no auth. */
  apiKey?: string | readonly string[];
  /** Log requests to stdout (pino); off by default for embedding. */
  logger?: boolean;
}

/** A running Ferry server. */
export interface FerryServer extends AsyncDisposable {
  /** Base URL with the real port, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  readonly port: number;
  readonly dataDir: string;
  readonly workspaceRoot: string;
  /** The underlying Fastify instance, for embedding and tests. */
  readonly app: FastifyInstance;
  /** Stops accepting requests and closes open connections. */
  close(): Promise<void>;
}

/** What `GET /server_info` answers. */
export interface ServerInfo {
  name: 'ferry-server';
  version: string;
  uptime: number;
  started_at: string;
}

const SERVER_VERSION = '0.0.0';

/** Starts a Ferry agent server and resolves once it listens. */
export async function startServer(options: StartServerOptions): Promise<FerryServer> {
  const dataDir = resolve(options.dataDir);
  const workspaceRoot = resolve(options.workspaceRoot ?? `${dataDir}/workspaces`);
  await mkdir(dataDir, { recursive: true });
  await mkdir(workspaceRoot, { recursive: true });
  const startedAt = new Date();

  const app = Fastify({ logger: options.logger ?? false });
  app.get('/alive', () => ({ status: 'ok' }));
  app.get('/health', () => 'OK');
  app.get('/ready', () => ({ status: 'ready' }));
  app.get('/server_info', (): ServerInfo => ({
    name: 'ferry-server',
    version: SERVER_VERSION,
    uptime: (Date.now() - startedAt.getTime()) / 1000,
    started_at: startedAt.toISOString(),
  }));

  await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 8000 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') {
    await app.close();
    throw new Error(`ferry-server: unexpected listen address ${String(address)}`);
  }
  const displayHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const close = () => app.close();
  return {
    url: `http://${displayHost}:${address.port}`,
    port: address.port,
    dataDir,
    workspaceRoot,
    app,
    close,
    [Symbol.asyncDispose]: close,
  };
}
