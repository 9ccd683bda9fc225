import type { WebSocket } from '@fastify/websocket';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { ApiKeyCheck } from '../auth/api-key-check';
import { presentedKey, verifyKey } from '../auth/auth-hook';
import { executeBashRequestSchema } from '../routes/bash-event';
import type { BashCommandRunner } from '../routes/bash-command-runner';
import type { BashEventStore } from '../routes/bash-event-store';
import { frameText } from './event-socket';

/** Options of {@link bashEventSocketRoute}. */
export interface BashEventSocketOptions {
  events: BashEventStore;
  runner: BashCommandRunner;
  /** Keys accepted in `X-Session-API-Key` or `session_api_key`; none means no auth. */
  apiKeys?: ApiKeyCheck;
}

const querySchema = z.object({
  session_api_key: z.string().optional(),
  resend_mode: z.enum(['all']).optional(),
  resend_all: z.enum(['true', 'false', '1', '0']).optional(),
});

/** Closed with this code when no valid API key came with the upgrade. */
const UNAUTHORIZED = 4001;
/** Bytes a subscriber may leave unread before it is dropped. */
const MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

function send(socket: WebSocket, value: unknown): void {
  if (socket.readyState !== socket.OPEN) return;
  if (socket.bufferedAmount > MAX_BUFFERED_BYTES) {
    socket.close(1008, 'subscriber too slow');
    return;
  }
  socket.send(JSON.stringify(value));
}

/**
 * OpenHands' `/sockets/bash-events`: every bash event as it is recorded (all earlier ones first
 * with `resend_mode=all`); a frame holding an `ExecuteBashRequest` starts that command. A frame
 * that is not one answers a `BashError` (`code`, `detail`) and the socket stays open.
 */
export function bashEventSocketRoute(app: FastifyInstance, options: BashEventSocketOptions): void {
  app.get(
    '/sockets/bash-events',
    { websocket: true, config: { public: true }, schema: { hide: true } },
    (socket: WebSocket, request: FastifyRequest) => {
      const query = querySchema.safeParse(request.query);
      const parsed = query.success ? query.data : {};
      if (options.apiKeys !== undefined) {
        const candidate = presentedKey(request) ?? parsed.session_api_key;
        if (verifyKey(options.apiKeys, request.ip, candidate).outcome !== 'accepted') {
          socket.close(UNAUTHORIZED, 'Authentication failed');
          return;
        }
      }
      const stop = options.events.onAdd((event) => send(socket, event));
      socket.on('close', stop);
      const resend =
        parsed.resend_mode === 'all' || parsed.resend_all === 'true' || parsed.resend_all === '1';
      if (resend) for (const event of options.events.all()) send(socket, event);
      socket.on('message', (data) => {
        let frame: unknown;
        try {
          frame = JSON.parse(frameText(data)) as unknown;
        } catch {
          send(socket, { code: 'INVALID_JSON', detail: 'The frame is not valid JSON.' });
          return;
        }
        if ((frame as { type?: unknown } | null)?.type === 'auth') return;
        const request = executeBashRequestSchema.safeParse(frame);
        if (!request.success) {
          send(socket, { code: 'VALIDATION_ERROR', detail: request.error.message });
          return;
        }
        options.runner.start(request.data).catch((error: unknown) => {
          send(socket, {
            code: error instanceof Error ? error.name : 'Error',
            detail: error instanceof Error ? error.message : String(error),
          });
        });
      });
    },
  );
}
