import { FerryError } from '@ferry/sdk-core';
import type { FastifyReply } from 'fastify';
import { ferryErrorBody } from '../errors/error-handler';
import { errorResponseSchema } from '../schemas/common-schemas';

/** The OpenAPI answer of a route that reports an unknown conversation as 400. */
export const unknownConversationResponse = errorResponseSchema.describe(
  'No conversation has this id (`code` CONVERSATION_NOT_FOUND), as OpenHands answers it',
);

/**
 * Runs `work`; when it finds no conversation, answers 400 with code `CONVERSATION_NOT_FOUND`
 * instead of the usual 404. OpenHands' `DELETE /api/conversations/{id}`, `.../pause` and
 * `.../interrupt` answer 400 for a well-formed id that names nothing (their service returns
 * `False`), and its clients check for that status.
 */
export async function unknownAsBadRequest<T>(
  reply: FastifyReply,
  work: () => Promise<T>,
): Promise<T | FastifyReply> {
  try {
    return await work();
  } catch (error) {
    if (FerryError.isInstance(error) && error.code === 'CONVERSATION_NOT_FOUND') {
      return reply.code(400).send(ferryErrorBody(error));
    }
    throw error;
  }
}
