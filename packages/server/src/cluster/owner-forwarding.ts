import { FerryError } from '@ferry/sdk-core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { ferryErrorBody } from '../errors/error-handler';
import { canonicalConversationId } from '../conversations/conversation-id';
import type { ClusterStore } from './cluster-store';

/** Marks a request one replica forwarded to another: it is answered there, never sent on. */
export const FORWARDED_HEADER = 'x-ferry-forwarded-by';

/** `/api/conversations/<id>` and everything under it (not `search`, `count`, `import`). */
const CONVERSATION_PATH = /^\/api\/conversations\/([0-9a-fA-F-]{32,36})(?:[/?]|$)/;

/** Headers that belong to one connection, not to the request. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'te',
  'trailer',
]);

/** Options of {@link installOwnerForwarding}. */
export interface OwnerForwardingOptions {
  store: ClusterStore;
  /** This replica's URL, named in forwarded requests. */
  self: () => string | undefined;
  /** Seconds a client should wait when the owner does not answer (its lease lapses by then). */
  retryAfterSeconds: number;
}

/**
 * A conversation runs on one replica, the holder of its lease. A request for it that reaches
 * another replica is sent on, as it came (method, path, headers, body streamed), to the
 * holder's advertised URL, and its answer is streamed back. A conversation nobody holds is
 * answered here (which takes its lease). Event sockets are never forwarded: they read the shared
 * store on any replica.
 */
export function installOwnerForwarding(
  app: FastifyInstance,
  options: OwnerForwardingOptions,
): void {
  app.addHook('onRequest', async (request, reply) => {
    if (request.headers[FORWARDED_HEADER] !== undefined || request.headers.upgrade !== undefined) {
      return;
    }
    const match = CONVERSATION_PATH.exec(request.url);
    const id = match?.[1] === undefined ? undefined : canonicalConversationId(match[1]);
    if (id === undefined) return;
    const holder = await options.store.leaseHolder(id);
    if (holder === undefined || holder.mine || !holder.live || holder.endpoint === undefined)
      return;
    if (holder.endpoint === options.self()) return;
    reply.hijack();
    forward(request, reply, holder.endpoint, options);
    return reply;
  });
}

function forward(
  request: FastifyRequest,
  reply: FastifyReply,
  endpoint: string,
  options: OwnerForwardingOptions,
): void {
  const target = new URL(request.url, endpoint);
  const headers: IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (!HOP_BY_HOP.has(name)) headers[name] = value;
  }
  headers.host = target.host;
  headers[FORWARDED_HEADER] = options.self() ?? 'unknown';
  const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
  const upstream = send(target, { method: request.method, headers }, (response) => {
    const answer: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(response.headers)) {
      if (value !== undefined && !HOP_BY_HOP.has(name)) answer[name] = value;
    }
    reply.raw.writeHead(response.statusCode ?? 502, answer);
    response.pipe(reply.raw);
  });
  upstream.on('error', (error) => {
    request.log.warn(
      { endpoint, err: { name: error.name, message: error.message } },
      'the replica holding this conversation did not answer',
    );
    if (reply.raw.headersSent) {
      reply.raw.destroy();
      return;
    }
    const failure = new FerryError(
      'OWNER_UNREACHABLE',
      `The replica running this conversation (${endpoint}) does not answer; another replica ` +
        `takes the conversation over once its lease lapses. Retry in ${options.retryAfterSeconds} s.`,
    );
    reply.raw.writeHead(503, {
      'content-type': 'application/json; charset=utf-8',
      'retry-after': String(options.retryAfterSeconds),
    });
    reply.raw.end(JSON.stringify(ferryErrorBody(failure)));
  });
  request.raw.pipe(upstream);
}
