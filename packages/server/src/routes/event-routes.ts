import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ConversationManager } from '../conversations/conversation-manager';
import { countEvents, searchEvents } from '../conversations/event-query';
import { serverErrors } from '../errors/http-status';
import {
  commonErrorResponses,
  conversationParamsSchema,
  errorResponseSchema,
  successSchema,
} from '../schemas/common-schemas';
import {
  confirmationResponseRequestSchema,
  sendMessageRequestSchema,
} from '../schemas/conversation-schemas';
import {
  eventCountQuerySchema,
  eventPageSchema,
  eventParamsSchema,
  eventSearchQuerySchema,
  storedEventSchema,
} from '../schemas/event-schemas';

/** Options of {@link eventRoutes}. */
export interface EventRoutesOptions {
  manager: ConversationManager;
}

const tags = ['Events'];

/** The OpenHands event routes of a conversation. Events are returned as stored in the log. */
export function eventRoutes(app: FastifyInstance, { manager }: EventRoutesOptions): void {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const success = { success: true } as const;

  routes.post(
    '/api/conversations/:conversation_id/events',
    {
      schema: {
        tags,
        summary: 'Send a user message (and start running with `run: true`)',
        params: conversationParamsSchema,
        body: sendMessageRequestSchema,
        response: {
          200: successSchema,
          409: errorResponseSchema.describe('The conversation was teleported'),
          ...commonErrorResponses,
        },
      },
    },
    async (request) => {
      const { role, content, run } = request.body;
      if (role !== 'user') throw serverErrors.messageRoleNotSupported(role);
      await manager.use(request.params.conversation_id, async (entry) => {
        await entry.conversation.sendMessage({ content });
        if (run) await entry.ensureRunning();
      });
      return success;
    },
  );

  routes.get(
    '/api/conversations/:conversation_id/events/search',
    {
      schema: {
        tags,
        summary: 'Events, a page at a time, with filters',
        params: conversationParamsSchema,
        querystring: eventSearchQuerySchema,
        response: { 200: eventPageSchema, ...commonErrorResponses },
      },
    },
    async (request) =>
      manager.use(request.params.conversation_id, (entry) =>
        searchEvents(entry.conversation.events.raw(), request.query),
      ),
  );

  routes.get(
    '/api/conversations/:conversation_id/events/count',
    {
      schema: {
        tags,
        summary: 'Count events matching the filters',
        params: conversationParamsSchema,
        querystring: eventCountQuerySchema,
        response: { 200: z.number().int(), ...commonErrorResponses },
      },
    },
    async (request) =>
      manager.use(request.params.conversation_id, (entry) =>
        countEvents(entry.conversation.events, request.query),
      ),
  );

  routes.post(
    '/api/conversations/:conversation_id/events/respond_to_confirmation',
    {
      schema: {
        tags,
        summary: 'Accept (and run) or reject the actions waiting for confirmation',
        params: conversationParamsSchema,
        body: confirmationResponseRequestSchema,
        description:
          'When nothing waits, accepting starts a run unless one is going and rejecting changes ' +
          'nothing; both answer 200, as on OpenHands.',
        response: { 200: successSchema, ...commonErrorResponses },
      },
    },
    async (request) => {
      const { accept, reason } = request.body;
      await manager.use(request.params.conversation_id, (entry) =>
        entry.respondToConfirmation({ accept, ...(reason === undefined ? {} : { reason }) }),
      );
      return success;
    },
  );

  routes.get(
    '/api/conversations/:conversation_id/events/:event_id',
    {
      schema: {
        tags,
        summary: 'One event, as stored',
        params: eventParamsSchema,
        response: { 200: storedEventSchema, ...commonErrorResponses },
      },
    },
    async (request) => {
      const { conversation_id: conversationId, event_id: eventId } = request.params;
      return manager.use(conversationId, (entry) => {
        const index = entry.conversation.events.indexOf(eventId);
        const event = index < 0 ? undefined : entry.conversation.events.raw()[index];
        if (event === undefined) throw serverErrors.eventNotFound(conversationId, eventId);
        return event;
      });
    },
  );
}
