import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';

/**
 * The OpenHands agent-server version whose protocol Ferry implements. OpenHands' clients read
 * `version` of `/server_info` to decide which routes they may call (the TypeScript client
 * refuses workspaces, hooks and MCP below 1.23.0), so that is where it goes.
 */
export const OPENHANDS_PROTOCOL_VERSION = '1.43.1';

/** What `GET /server_info` answers: OpenHands' `ServerInfo` fields, and Ferry's own. */
export interface ServerInfo {
  name: 'ferry-server';
  title: string;
  /** The OpenHands agent-server protocol version implemented ({@link OPENHANDS_PROTOCOL_VERSION}). */
  version: string;
  /** The version of `@ferry/server` itself. */
  ferry_version: string;
  /** Seconds since the server started. */
  uptime: number;
  /** Seconds since the last authenticated request. */
  idle_time: number;
  started_at: string;
  docs: string;
}

const serverInfoSchema = z.object({
  name: z.literal('ferry-server'),
  title: z.string(),
  version: z.string(),
  ferry_version: z.string(),
  uptime: z.number(),
  idle_time: z.number(),
  started_at: z.string(),
  docs: z.string(),
});

const statusSchema = (status: string) => z.object({ status: z.literal(status) });

/** The open routes: `/alive`, `/health`, `/ready`, `/server_info`. */
export function healthRoutes(
  app: FastifyInstance,
  options: {
    version: string;
    startedAt: Date;
    /** Why the server is not ready (a cluster replica's database is unreachable), or `undefined`. */
    ready?: () => Promise<string | undefined>;
  },
): void {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const open = { config: { public: true } } as const;
  const schema = { tags: ['Server'], security: [] };
  let lastActivity = options.startedAt.getTime();
  // Probes and the console's static files are not activity; API requests are.
  app.addHook('onRequest', (request, _reply, done) => {
    if (request.routeOptions.config.public !== true) lastActivity = Date.now();
    done();
  });
  // As OpenHands: `/alive` and `/health` answer `{"status":"ok"}` while the process runs.
  for (const path of ['/alive', '/health']) {
    routes.get(
      path,
      { ...open, schema: { ...schema, response: { 200: statusSchema('ok') } } },
      () => ({ status: 'ok' as const }),
    );
  }
  routes.get(
    '/ready',
    {
      ...open,
      schema: {
        ...schema,
        response: {
          200: statusSchema('ready'),
          503: z.object({ status: z.literal('not_ready'), detail: z.string() }),
        },
      },
    },
    async (_request, reply) => {
      const problem = await options.ready?.();
      if (problem === undefined) return { status: 'ready' as const };
      return reply.code(503).send({ status: 'not_ready' as const, detail: problem });
    },
  );
  routes.get(
    '/server_info',
    { ...open, schema: { ...schema, response: { 200: serverInfoSchema } } },
    (): ServerInfo => {
      const now = Date.now();
      return {
        name: 'ferry-server',
        title: 'Ferry agent server',
        version: OPENHANDS_PROTOCOL_VERSION,
        ferry_version: options.version,
        uptime: Math.floor((now - options.startedAt.getTime()) / 1000),
        idle_time: Math.floor((now - lastActivity) / 1000),
        started_at: options.startedAt.toISOString(),
        docs: '/docs',
      };
    },
  );
}
