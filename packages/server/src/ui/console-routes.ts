import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { CONSOLE_HTML } from './console-page';

/** What the console serves from: a Ferry server, or a local persistence folder. */
export interface ConsoleInfo {
  /** `server`: a Ferry server; `local`: a persistence folder written by the SDK. */
  mode: 'server' | 'local';
  /** True when the console only shows conversations (a local folder). */
  read_only: boolean;
  /** For a local folder, its place as teleports name it (`file://host/path`). */
  place?: string;
}

const consoleInfoSchema = z.object({
  mode: z.enum(['server', 'local']),
  read_only: z.boolean(),
  place: z.string().optional(),
});

/**
 * Serves the Ferry console at `/ui/`, and `GET /api/console`, which tells the page what it
 * serves from. The page itself holds no data, so it needs no key; everything it shows and does
 * goes through the authenticated API and events WebSocket.
 */
export function consoleRoutes(app: FastifyInstance, info: ConsoleInfo): void {
  app.get('/ui', { config: { public: true }, schema: { hide: true } }, (_request, reply) =>
    reply.redirect('/ui/'),
  );
  app.get('/ui/', { config: { public: true }, schema: { hide: true } }, (_request, reply) =>
    reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      .header(
        'content-security-policy',
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; " +
          "connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
      )
      .send(CONSOLE_HTML),
  );
  app.withTypeProvider<ZodTypeProvider>().get(
    '/api/console',
    {
      schema: {
        tags: ['Ferry extensions'],
        summary: 'What the console at /ui/ serves from',
        response: { 200: consoleInfoSchema },
      },
    },
    () => info,
  );
}
