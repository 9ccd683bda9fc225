import { randomUUID } from 'node:crypto';
import { z } from 'zod';

/** Who produced an event. */
export const eventSourceSchema = z.enum(['user', 'agent', 'environment', 'hook']);
export type EventSource = z.infer<typeof eventSourceSchema>;

const ISO_WITH_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})$/;
const ISO_WITHOUT_ZONE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/;

/**
 * An event timestamp. Ferry writes ISO-8601 UTC with `Z`; OpenHands' zone-less timestamps are
 * accepted (and read as UTC) and kept as written.
 */
export const timestampSchema = z.string().refine(isEventTimestamp, {
  message: 'expected an ISO-8601 timestamp such as 2026-01-31T12:00:00.000Z',
});

/** Whether `value` is a timestamp {@link timestampSchema} accepts. */
export function isEventTimestamp(value: string): boolean {
  return ISO_WITH_ZONE.test(value) || ISO_WITHOUT_ZONE.test(value);
}

/** Reads an event timestamp (zone-less means UTC) as epoch milliseconds. */
export function parseTimestamp(timestamp: string): number {
  const value = ISO_WITHOUT_ZONE.test(timestamp) ? `${timestamp}Z` : timestamp;
  // JS dates keep milliseconds; Python writes microseconds, which Date.parse accepts.
  return Date.parse(value);
}

/** Fields every event has. */
export const eventBaseShape = {
  id: z.string().min(1),
  timestamp: timestampSchema,
  source: eventSourceSchema,
};

/** The envelope of an event of any kind, known or not. */
export const eventEnvelopeSchema = z.looseObject({
  ...eventBaseShape,
  source: z.string().optional(),
  kind: z.string().min(1),
});
export type EventEnvelope = z.infer<typeof eventEnvelopeSchema>;

/** A fresh id and timestamp for a new event. */
export function newEventEnvelope(): { id: string; timestamp: string } {
  return { id: randomUUID(), timestamp: new Date().toISOString() };
}
