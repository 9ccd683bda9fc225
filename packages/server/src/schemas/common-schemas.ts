import { z } from 'zod';
import { UUID_PATTERN } from '../conversations/conversation-id';
import { apiRegistry } from './api-registry';

/** OpenHands' `Success`. */
export const successSchema = z
  .object({ success: z.boolean() })
  .register(apiRegistry, { id: 'Success' });
export type Success = z.infer<typeof successSchema>;

/** One problem of a request that failed validation (FastAPI's `ValidationError`). */
export const validationIssueSchema = z.object({
  loc: z.array(z.union([z.string(), z.number()])),
  msg: z.string(),
  type: z.string(),
});
export type ValidationIssue = z.infer<typeof validationIssueSchema>;

/**
 * Every error answer: `code` is stable (a Ferry error code, `VALIDATION_ERROR`, `UNAUTHORIZED`,
 * ...), `detail` is the message, or the list of validation problems with their field paths.
 * Ferry errors add their own fields (`removed`, `to`, ...).
 */
export const errorResponseSchema = z
  .looseObject({
    code: z.string(),
    detail: z.union([z.string(), z.array(validationIssueSchema)]),
    message: z.string().optional(),
  })
  .register(apiRegistry, { id: 'ErrorResponse' });
export type ErrorResponse = z.infer<typeof errorResponseSchema>;

/**
 * A conversation id in a path: anything but a UUID answers 422 `VALIDATION_ERROR` (loc
 * `["params", "conversation_id"]`), as OpenHands' routers do, before the route runs.
 */
export const conversationIdParamSchema = z
  .string()
  .regex(UUID_PATTERN, { message: 'Input should be a valid UUID' })
  .describe('The conversation id (a UUID, with or without dashes).');

/** Path parameters of every `/api/conversations/{conversation_id}/...` route. */
export const conversationParamsSchema = z.object({
  conversation_id: conversationIdParamSchema,
});

/** An ISO-8601 date-time in a query string; a value without a zone is read as UTC. */
export const isoDateTimeQuerySchema = z
  .string()
  .refine((value) => !Number.isNaN(Date.parse(normalizeZone(value))), {
    message: 'expected an ISO-8601 date-time such as 2026-01-31T12:00:00Z',
  });

/** Adds `Z` to a zone-less ISO date-time, which Ferry reads as UTC (as OpenHands writes them). */
export function normalizeZone(value: string): string {
  return /T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(value) ? `${value}Z` : value;
}

/** Epoch milliseconds of an ISO date-time from a query string (zone-less means UTC). */
export function parseQueryDateTime(value: string): number {
  return Date.parse(normalizeZone(value));
}

/** Error answers shared by the conversation routes, for the OpenAPI document. */
export const commonErrorResponses = {
  401: errorResponseSchema.describe('Missing or wrong X-Session-API-Key'),
  404: errorResponseSchema.describe('Unknown conversation'),
  422: errorResponseSchema.describe('Request validation failed; `detail` lists the field paths'),
};
