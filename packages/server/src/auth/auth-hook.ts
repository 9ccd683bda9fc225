import { FerryError } from '@ferry/sdk-core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { ferryErrorBody, sendFerryError } from '../errors/error-handler';
import { httpStatusOf, serverErrors } from '../errors/http-status';
import type { ApiKeyCheck } from './api-key-check';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Served without an API key (health routes, docs; the WebSocket checks its own). */
    public?: boolean;
  }
}

/** The header OpenHands clients send the key in. */
export const API_KEY_HEADER = 'x-session-api-key';

/** The error code of a client refused for presenting too many wrong keys. */
export const AUTH_RATE_LIMITED = 'AUTH_RATE_LIMITED';

/** The key a request presents in `X-Session-API-Key`, if any. */
export function presentedKey(request: FastifyRequest): string | undefined {
  const value = request.headers[API_KEY_HEADER];
  return Array.isArray(value) ? value[0] : value;
}

/** The error of a client refused for `retryAfter` more seconds. */
export function authRateLimited(retryAfter: number): FerryError {
  return new FerryError(
    AUTH_RATE_LIMITED,
    `Too many wrong API keys from this address: try again in ${retryAfter} s.`,
  );
}

/**
 * Whether the client may present a key now, and if it presented one, whether it is right. A
 * client with too many wrong keys is refused whatever it presents (`rateLimited`), so guessing
 * gains nothing; a wrong key (not a missing one) counts against its client.
 */
export function verifyKey(
  check: ApiKeyCheck,
  address: string,
  candidate: string | undefined,
): { outcome: 'accepted' | 'refused' } | { outcome: 'rateLimited'; retryAfter: number } {
  const retryAfter = check.failures.retryAfter(address);
  if (retryAfter !== undefined) return { outcome: 'rateLimited', retryAfter };
  if (check.accepts(candidate)) return { outcome: 'accepted' };
  if (candidate !== undefined && candidate !== '') check.failures.recordFailure(address);
  return { outcome: 'refused' };
}

function isOpen(request: FastifyRequest): boolean {
  if (request.routeOptions.config.public === true) return true;
  const path = request.url.split('?')[0] ?? '';
  return path === '/docs' || path.startsWith('/docs/');
}

/**
 * Refuses (401) every request without a configured key, except on open routes; a client that
 * presented too many wrong keys gets 429 with `Retry-After` until its window ends.
 */
export function installAuthHook(app: FastifyInstance, check: ApiKeyCheck): void {
  if (!check.enabled) return;
  app.addHook('onRequest', (request, reply, done) => {
    if (isOpen(request)) {
      done();
      return;
    }
    const verdict = verifyKey(check, request.ip, presentedKey(request));
    switch (verdict.outcome) {
      case 'accepted':
        done();
        return;
      case 'rateLimited': {
        const error = authRateLimited(verdict.retryAfter);
        void reply
          .code(httpStatusOf(error))
          .header('retry-after', String(verdict.retryAfter))
          .send(ferryErrorBody(error));
        return;
      }
      case 'refused':
        void sendFerryError(reply, serverErrors.unauthorized());
        return;
    }
  });
}
