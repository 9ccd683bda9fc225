import { z } from 'zod';
import { apiRegistry } from './api-registry';
import { conversationIdParamSchema, isoDateTimeQuerySchema } from './common-schemas';

/** An event as stored in the log: the envelope is typed, every other field is kept. */
export const storedEventSchema = z
  .looseObject({
    id: z.string(),
    kind: z.string(),
    timestamp: z.string(),
    source: z.string().optional(),
  })
  .register(apiRegistry, { id: 'Event' });

export const eventSortOrderSchema = z.enum(['TIMESTAMP', 'TIMESTAMP_DESC']);
export type EventSortOrder = z.infer<typeof eventSortOrderSchema>;

/** Filters of `events/search` and `events/count`. */
export const eventFilterQueryShape = {
  kind: z.string().nullish().describe('Only events of this kind, e.g. ActionEvent'),
  source: z.string().nullish().describe('Only events from this source: user, agent, environment'),
  body: z.string().nullish().describe('Only messages whose text contains this (case-insensitive)'),
  timestamp__gte: isoDateTimeQuerySchema.nullish().describe('Only events at or after this time'),
  timestamp__lt: isoDateTimeQuerySchema.nullish().describe('Only events before this time'),
};

export const eventSearchQuerySchema = z.object({
  page_id: z.string().nullish().describe('next_page_id of the previous page'),
  limit: z.coerce.number().int().positive().max(100).default(100),
  sort_order: eventSortOrderSchema.default('TIMESTAMP'),
  ...eventFilterQueryShape,
});
export type EventSearchQuery = z.infer<typeof eventSearchQuerySchema>;

export const eventCountQuerySchema = z.object(eventFilterQueryShape);
export type EventFilterQuery = z.infer<typeof eventCountQuerySchema>;

/** OpenHands' `EventPage`. */
export const eventPageSchema = z
  .object({
    items: z.array(storedEventSchema),
    next_page_id: z.string().nullable(),
  })
  .register(apiRegistry, { id: 'EventPage' });

export const eventParamsSchema = z.object({
  conversation_id: conversationIdParamSchema,
  event_id: z.string(),
});
