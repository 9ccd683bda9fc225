import type { FastifyInstance, FastifyRequest } from 'fastify';
import { sendFerryError } from '../errors/error-handler';
import { serverErrors } from '../errors/http-status';
import type { ApiKeyCheck } from './api-key-check';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Served without an API key (health routes, docs; the WebSocket checks its own). */
    public?: boolean;
  }
}

/** The header OpenHands clients send the key in. */
export const API_KEY_HEADER = 'x-session-api-key';

/** The key a request presents in `X-Session-API-Key`, if any. */
export function presentedKey(request: FastifyRequest): string | undefined {
  const value = request.headers[API_KEY_HEADER];
  return Array.isArray(value) ? value[0] : value;
}

function isOpen(request: FastifyRequest): boolean {
  if (request.routeOptions.config.public === true) return true;
  const path = request.url.split('?')[0] ?? '';
  return path === '/docs' || path.startsWith('/docs/');
}

/** Refuses (401) every request without a configured key, except on open routes. */
export function installAuthHook(app: FastifyInstance, check: ApiKeyCheck): void {
  if (!check.enabled) return;
  app.addHook('onRequest', (request, reply, done) => {
    if (isOpen(request) || check.accepts(presentedKey(request))) {
      done();
      return;
    }
    void sendFerryError(reply, serverErrors.unauthorized());
  });
}
