import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';

/** What `GET /server_info` answers. */
export interface ServerInfo {
  name: 'ferry-server';
  version: string;
  /** Seconds since the server started. */
  uptime: number;
  started_at: string;
}

const serverInfoSchema = z.object({
  name: z.literal('ferry-server'),
  version: z.string(),
  uptime: z.number(),
  started_at: z.string(),
});

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
  routes.get(
    '/alive',
    { ...open, schema: { ...schema, response: { 200: z.object({ status: z.literal('ok') }) } } },
    () => ({ status: 'ok' as const }),
  );
  routes.get(
    '/health',
    { ...open, schema: { ...schema, response: { 200: z.literal('OK') } } },
    () => 'OK' as const,
  );
  routes.get(
    '/ready',
    {
      ...open,
      schema: {
        ...schema,
        response: {
          200: z.object({ status: z.literal('ready') }),
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
    (): ServerInfo => ({
      name: 'ferry-server',
      version: options.version,
      uptime: (Date.now() - options.startedAt.getTime()) / 1000,
      started_at: options.startedAt.toISOString(),
    }),
  );
}
