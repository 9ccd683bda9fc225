import Fastify from 'fastify';
import { validatorCompiler } from 'fastify-type-provider-zod';
import { hostname } from 'node:os';
import { createApiKeyCheck } from '../auth/api-key-check';
import { installAuthHook } from '../auth/auth-hook';
import { installErrorHandlers } from '../errors/error-handler';
import { consoleRoutes } from '../ui/console-routes';
import { LocalFolderReader } from './local-folder';
import { localConsoleRoutes } from './local-console-routes';

/** Options of {@link startConsole}. */
export interface StartConsoleOptions {
  /** The persistence folder the SDK writes (`persistenceDir` of `LocalConversation.open`). */
  persistenceDir: string;
  /** Interface to bind; defaults to `127.0.0.1`. */
  host?: string;
  /** Port to bind; `0` (the default) picks a free one. */
  port?: number;
  /** One key or several accepted in `X-Session-API-Key`; none means no auth. */
  apiKey?: string | readonly string[];
}

/** A running local console. */
export interface FerryConsole extends AsyncDisposable {
  /** Base URL with the real port; the console is at `<url>/ui/`. */
  readonly url: string;
  /** The folder it shows, resolved. */
  readonly persistenceDir: string;
  close(): Promise<void>;
}

/**
 * Serves the Ferry console over a local persistence folder, read-only: it lists the
 * conversations the SDK wrote there and shows each one's events, journey and usage, following
 * new events as a running agent appends them. It never writes to the folder nor takes a
 * conversation's lock, so it can watch a conversation another process is running; steering
 * (messages, runs, confirmations) belongs to the process that owns the conversation.
 */
export async function startConsole(options: StartConsoleOptions): Promise<FerryConsole> {
  const reader = new LocalFolderReader(options.persistenceDir);
  const app = Fastify({ logger: false });
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  installErrorHandlers(app);
  installAuthHook(app, createApiKeyCheck(options.apiKey));
  localConsoleRoutes(app, reader);
  consoleRoutes(app, {
    mode: 'local',
    read_only: true,
    place: `file://${hostname()}${reader.folder}`,
  });
  await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 0 });
  const address = app.server.address();
  if (address === null || typeof address === 'string') {
    await app.close();
    throw new Error(`ferry-console: unexpected listen address ${String(address)}`);
  }
  const displayHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const close = () => app.close();
  return {
    url: `http://${displayHost}:${address.port}`,
    persistenceDir: reader.folder,
    close,
    [Symbol.asyncDispose]: close,
  };
}
