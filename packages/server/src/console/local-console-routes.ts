import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { canonicalConversationId } from '../conversations/conversation-id';
import { searchConversations, toConversationInfo } from '../conversations/conversation-info';
import { searchEvents } from '../conversations/event-query';
import { serverErrors } from '../errors/http-status';
import { commonErrorResponses, conversationParamsSchema } from '../schemas/common-schemas';
import {
  conversationInfoSchema,
  conversationPageSchema,
  conversationSearchQuerySchema,
} from '../schemas/conversation-schemas';
import { eventPageSchema, eventSearchQuerySchema } from '../schemas/event-schemas';
import type { LocalFolderReader } from './local-folder';

/**
 * The read-only routes of the console over a local folder, with the shapes of the server's
 * routes of the same paths: list conversations, get one, page through its events.
 */
export function localConsoleRoutes(app: FastifyInstance, reader: LocalFolderReader): void {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const tags = ['Local console'];
  const record = async (requested: string) => {
    const id = canonicalConversationId(requested);
    const found = id === undefined ? undefined : await reader.find(id);
    if (found === undefined) throw serverErrors.conversationNotFound(requested);
    return found;
  };

  routes.get(
    '/api/conversations/search',
    {
      schema: {
        tags,
        summary: 'List the conversations in the folder',
        querystring: conversationSearchQuerySchema,
        response: { 200: conversationPageSchema, 401: commonErrorResponses[401] },
      },
    },
    async (request) =>
      searchConversations(await reader.list(), {
        pageId: request.query.page_id,
        limit: request.query.limit,
        status: request.query.status,
        sortOrder: request.query.sort_order,
      }),
  );

  routes.get(
    '/api/conversations/:conversation_id',
    {
      schema: {
        tags,
        summary: 'Get a conversation',
        params: conversationParamsSchema,
        response: { 200: conversationInfoSchema, ...commonErrorResponses },
      },
    },
    async (request) => toConversationInfo(await record(request.params.conversation_id)),
  );

  routes.get(
    '/api/conversations/:conversation_id/events/search',
    {
      schema: {
        tags,
        summary: "A conversation's events, a page at a time",
        params: conversationParamsSchema,
        querystring: eventSearchQuerySchema,
        response: { 200: eventPageSchema, ...commonErrorResponses },
      },
    },
    async (request) => {
      const found = await record(request.params.conversation_id);
      return searchEvents(await reader.events(found.state.id), request.query);
    },
  );
}
