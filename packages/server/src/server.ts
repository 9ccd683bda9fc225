import websocket from '@fastify/websocket';
import { resolveSecretCipher } from '@ferry/sdk-core';
import type { FileStore, ToolDefinition } from '@ferry/sdk-core';
import { checkSandbox, type SandboxOptions } from '@ferry/workspace-local';
import Fastify, { type FastifyInstance } from 'fastify';
import { validatorCompiler } from 'fastify-type-provider-zod';
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { version } from '../package.json';
import { createApiKeyCheck } from './auth/api-key-check';
import { installAuthHook } from './auth/auth-hook';
import type { ClusterStore } from './cluster/cluster-store';
import { connectClusterStore } from './cluster/connect-cluster-store';
import { installOwnerForwarding } from './cluster/owner-forwarding';
import { TakeoverLoop } from './cluster/takeover-loop';
import { ConversationManager } from './conversations/conversation-manager';
import { installErrorHandlers } from './errors/error-handler';
import { installJsonBodyParser } from './http/json-body-parser';
import { loggerOptions, type LoggerSetting } from './http/logger-options';
import { eventViewHook } from './http/event-view';
import { registerOpenApi } from './http/openapi';
import { consoleRoutes } from './ui/console-routes';
import { bashRoutes } from './routes/bash';
import { bundleRoutes } from './routes/bundle-routes';
import { conversationExtraRoutes } from './routes/conversation-extra-routes';
import { conversationRoutes } from './routes/conversation-routes';
import { eventRoutes } from './routes/event-routes';
import { fileRoutes } from './routes/file';
import { fileBrowseRoutes } from './routes/file-browse';
import { gitRoutes } from './routes/git';
import { healthRoutes } from './routes/health-routes';
import { teleportRoutes } from './routes/teleport-routes';
import { profileValidateRoute } from './routes/profile-validate-route';
import { settingsRoutes } from './routes/settings-routes';
import { skillRoutes } from './routes/skill-routes';
import { toolRoutes } from './routes/tool-routes';
import { documentSettingsBacking, fileSettingsBacking } from './settings/settings-backing';
import { SettingsStore } from './settings/settings-store';
import { eventSocketRoutes } from './sockets/event-socket';

export type { ServerInfo } from './routes/health-routes';

/** Options of {@link startServer}. */
export interface StartServerOptions {
  /** Interface to bind; defaults to `127.0.0.1`. */
  host?: string;
  /** Port to bind; `0` picks a free one (read it back from `server.url`). */
  port?: number;
  /** Folder that holds the conversations, in `<dataDir>/conversations/` (created if missing). */
  dataDir: string;
  /** Folder under which each conversation's workspace lives; defaults to `<dataDir>/workspaces`. */
  workspaceRoot?: string;
  /** One key or several accepted in `X-Session-API-Key`; none means no auth. */
  apiKey?: string | readonly string[];
  /**
   * Key that encrypts the secrets persisted with conversations (AES-256-GCM); defaults to
   * `FERRY_SECRET_KEY`. Without one, secrets are written redacted and must be sent again.
   */
  secretKey?: string;
  /** Log requests (pino) with `true` or pino options; off by default. Keys are never logged. */
  logger?: LoggerSetting;
  /** Seconds an unused, idle conversation stays open in memory (default 600). */
  idleTimeout?: number;
  /** Largest request body in bytes (default 10 MiB). */
  bodyLimit?: number;
  /** Bytes an events-socket subscriber may leave unread before it is dropped (default 16 MiB). */
  subscriberBufferLimit?: number;
  /** Largest conversation bundle accepted by `POST /api/conversations/import`, in bytes (default 1 GiB). */
  maxBundleBytes?: number;
  /** Tools agents may reference by name, besides the built-in ones. */
  tools?: readonly ToolDefinition[];
  /**
   * The store every conversation is written through, rooted at `<dataDir>/conversations`;
   * defaults to a `LocalFileStore` there. For embedding and fault tests: a wrapper of a
   * `LocalFileStore` of that folder (listing and search read the files there directly).
   */
  conversationStore?: FileStore;
  /**
   * Behind a reverse proxy: trust its `X-Forwarded-For` (`true`: any proxy; a number: that many
   * hops; addresses or CIDRs: those proxies), so the wrong-API-key limit and the logs see each
   * client's own address instead of the proxy's. Off by default: a client could otherwise claim
   * any address.
   */
  trustProxy?: boolean | number | string | readonly string[];
  /**
   * Run every conversation's workspace, and the `/bash`, `/file` and `/git` routes, in a
   * bubblewrap sandbox (`true`, or `SandboxOptions` such as `{ network: false }`). Starting
   * fails with `SandboxUnavailableError` where bwrap cannot run; never a silent fallback.
   */
  sandbox?: boolean | SandboxOptions;
  /**
   * Keep conversations in PostgreSQL (`postgres://user@host:5432/db`) instead of under
   * `dataDir`: any number of servers with the same URL form a cluster (see the README's
   * "Running a cluster"). Needs `@ferry/store-postgres` installed.
   */
  databaseUrl?: string;
  /** Seconds a replica's lease on a conversation lasts unless renewed (default 15; with `databaseUrl`). */
  leaseTtl?: number;
  /**
   * Continue the runs that were `running` when their server stopped (a restart, or a dead
   * replica), after recording the interruption (default `true`).
   */
  continueRuns?: boolean;
  /**
   * The URL other replicas reach this one at (default: the URL it listens on). Set it when
   * binding `0.0.0.0` or behind NAT.
   */
  advertiseUrl?: string;
  /**
   * User skill folders for `POST /api/skills`, most important first (OpenHands reads
   * `~/.agents/skills`, `~/.openhands/skills` and `~/.openhands/microagents` of its user). None
   * by default: every client of the server would otherwise get its user's own skills.
   */
  skillsDir?: string | readonly string[];
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
  /** The conversations: which are open in memory, and the operations behind the routes. */
  readonly conversations: ConversationManager;
  /**
   * Stops: closes event sockets (1001), interrupts running conversations (their status becomes
   * `paused`), flushes and releases every conversation, then closes the HTTP server.
   */
  close(): Promise<void>;
}

const DEFAULT_BODY_LIMIT = 10 * 1024 * 1024;
const DEFAULT_SUBSCRIBER_BUFFER_LIMIT = 16 * 1024 * 1024;
const DEFAULT_MAX_BUNDLE_BYTES = 1024 * 1024 * 1024;
const FIRST_FRAME_AUTH_TIMEOUT_MS = 10_000;
const DEFAULT_LEASE_TTL_SECONDS = 15;

/** Starts a Ferry agent server and resolves once it listens. */
export async function startServer(options: StartServerOptions): Promise<FerryServer> {
  const sandbox = options.sandbox ?? false;
  if (sandbox !== false) checkSandbox(sandbox);
  const dataDir = resolve(options.dataDir);
  const workspaceRoot = resolve(options.workspaceRoot ?? `${dataDir}/workspaces`);
  await mkdir(dataDir, { recursive: true });
  const startedAt = new Date();
  const apiKeys = createApiKeyCheck(options.apiKey);
  const leaseTtlMs = Math.round((options.leaseTtl ?? DEFAULT_LEASE_TTL_SECONDS) * 1000);
  const clusterStore =
    options.databaseUrl === undefined
      ? undefined
      : await connectClusterStore({ databaseUrl: options.databaseUrl, leaseTtlMs });
  let advertised: string | undefined;

  const app = Fastify({
    logger: loggerOptions(options.logger),
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    ...(options.trustProxy === undefined
      ? {}
      : { trustProxy: fastifyTrustProxy(options.trustProxy) }),
  });
  app.setValidatorCompiler(validatorCompiler);
  // Response schemas document the API; the stored documents are sent as they are.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  installJsonBodyParser(app);
  installErrorHandlers(app);
  eventViewHook(app);
  // Before the auth hook: the plugin's own onRequest hook marks upgrade requests so that it
  // closes their socket once answered; a 401 from the auth hook first left the socket open, and
  // close() waited for it forever.
  await app.register(websocket, { options: { maxPayload: 1024 * 1024 } });
  installAuthHook(app, apiKeys);
  if (clusterStore !== undefined) {
    installOwnerForwarding(app, {
      store: clusterStore,
      self: () => advertised,
      retryAfterSeconds: Math.max(1, Math.ceil(leaseTtlMs / 1000)),
    });
  }
  await registerOpenApi(app, { version });

  const settings = new SettingsStore({
    backing:
      clusterStore === undefined
        ? fileSettingsBacking(dataDir)
        : documentSettingsBacking(clusterStore),
    cipher: resolveSecretCipher(options.secretKey),
  });
  const conversations = await ConversationManager.start({
    dataDir,
    workspaceRoot,
    secretKey: options.secretKey,
    idleTimeout: options.idleTimeout,
    tools: options.tools,
    store: options.conversationStore,
    clusterStore,
    continueRuns: options.continueRuns,
    sandbox,
    titleLlm: (profile) => settings.loadProfile(profile),
    logger: app.log.child({ component: 'conversations' }),
  }).catch(async (error: unknown) => {
    await clusterStore?.close();
    throw error;
  });
  let takeover: TakeoverLoop | undefined;
  try {
    healthRoutes(app, { version, startedAt, ...readiness(clusterStore) });
    conversationRoutes(app, { manager: conversations });
    eventRoutes(app, { manager: conversations });
    eventSocketRoutes(app, {
      manager: conversations,
      apiKeys,
      maxBufferedBytes: options.subscriberBufferLimit ?? DEFAULT_SUBSCRIBER_BUFFER_LIMIT,
      authTimeoutMs: FIRST_FRAME_AUTH_TIMEOUT_MS,
    });
    await app.register(bundleRoutes, {
      manager: conversations,
      maxBundleBytes: options.maxBundleBytes ?? DEFAULT_MAX_BUNDLE_BYTES,
    });
    await app.register(bashRoutes, { workspaceRoot, sandbox, apiKeys });
    await app.register(fileRoutes, { workspaceRoot, sandbox });
    await app.register(gitRoutes, { workspaceRoot, sandbox });
    teleportRoutes(app, { manager: conversations });
    consoleRoutes(app, { mode: 'server', read_only: false });
    // OpenHands routes beyond the core (issue 16).
    conversationExtraRoutes(app, { manager: conversations });
    toolRoutes(app, { tools: options.tools });
    settingsRoutes(app, {
      manager: conversations,
      store: settings,
    });
    skillRoutes(app, {
      workspaceRoot,
      userSkillDirs: [options.skillsDir ?? []].flat().map((directory) => resolve(directory)),
    });
    profileValidateRoute(app);
    await app.register(fileBrowseRoutes, { workspaceRoot, sandbox });
    await app.listen({ host: options.host ?? '127.0.0.1', port: options.port ?? 8000 });
  } catch (error) {
    await conversations.close();
    await app.close();
    await clusterStore?.close();
    throw error;
  }
  const address = app.server.address();
  if (address === null || typeof address === 'string') {
    await conversations.close();
    await app.close();
    await clusterStore?.close();
    throw new Error(`ferry-server: unexpected listen address ${String(address)}`);
  }
  const displayHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `http://${displayHost}:${address.port}`;
  if (clusterStore !== undefined) {
    advertised = options.advertiseUrl ?? url;
    clusterStore.advertise(advertised);
    takeover = new TakeoverLoop({
      store: clusterStore,
      manager: conversations,
      periodMs: Math.max(50, leaseTtlMs / 3),
      log: app.log.child({ component: 'takeover' }),
    });
    await takeover.start();
  }

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      for (const client of app.websocketServer.clients) client.close(1001, 'server shutting down');
      await takeover?.stop();
      await conversations.close();
      await app.close();
      await clusterStore?.close();
    })();
    return closing;
  };
  return {
    url,
    port: address.port,
    dataDir,
    workspaceRoot,
    app,
    conversations,
    close,
    [Symbol.asyncDispose]: close,
  };
}

/** `/ready` of a cluster replica: ready only while its database answers. */
function readiness(store: ClusterStore | undefined): { ready?: () => Promise<string | undefined> } {
  if (store === undefined) return {};
  return {
    ready: () =>
      store.ping().then(
        () => undefined,
        (error: unknown) => (error instanceof Error ? error.message : String(error)),
      ),
  };
}

/** Fastify's form: a mutable list of proxies, and a number of hops as a function of the hop. */
function fastifyTrustProxy(
  trustProxy: boolean | number | string | readonly string[],
): boolean | string | string[] | ((address: string, hop: number) => boolean) {
  if (typeof trustProxy === 'number') return (_address, hop) => hop < trustProxy;
  return typeof trustProxy === 'object' ? [...trustProxy] : trustProxy;
}
