import type { FastifyInstance } from 'fastify';
import { VIEWER_HTML } from './viewer-page';

/**
 * Serves the conversation viewer at `/ui/`. The page itself holds no data; it asks for the
 * API key and reads conversations through the authenticated API and events WebSocket.
 */
export function viewerRoutes(app: FastifyInstance): Promise<void> {
  // The page holds no data, so it needs no key; everything it shows comes through the API.
  app.get('/ui', { config: { public: true }, schema: { hide: true } }, (_request, reply) =>
    reply.redirect('/ui/'),
  );
  app.get('/ui/', { config: { public: true }, schema: { hide: true } }, (_request, reply) =>
    reply
      .header('content-type', 'text/html; charset=utf-8')
      .header('cache-control', 'no-store')
      .header('x-content-type-options', 'nosniff')
      .send(VIEWER_HTML),
  );
  return Promise.resolve();
}
