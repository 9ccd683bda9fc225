import { z } from 'zod';
import { eventEnvelopeSchema, type EventEnvelope } from './event-base';
import { parseCommonEvent } from './parse-common-event';
import { knownEventSchema, type Event, type EventKind } from './event-schemas';

const knownKinds = new Set<string>(
  knownEventSchema.options.map((option) => option.shape.kind.value),
);

/** True when `kind` names an event kind Ferry knows. */
export function isKnownEventKind(kind: string): kind is EventKind {
  return knownKinds.has(kind);
}

/**
 * An event of a kind this version of Ferry does not know (a newer Ferry, an OpenHands
 * extension). It is kept in the log as written and never fails a load.
 */
export type UnknownEvent = EventEnvelope;

/** The result of reading an event: a typed known event, or an opaque unknown one. */
export type AnyEvent = Event | UnknownEvent;

/** Narrowing helper: the event is of a kind Ferry knows (then `switch (event.kind)`). */
export function isKnownEvent(event: AnyEvent): event is Event {
  return isKnownEventKind(event.kind);
}

/**
 * Parses one stored event. Known kinds are validated against their schema (unknown fields
 * kept); unknown kinds only need a valid envelope and come back as {@link UnknownEvent}.
 * Throws a zod error when the event is malformed.
 */
export function parseEvent(value: unknown): AnyEvent {
  const common = parseCommonEvent(value);
  if (common !== undefined) return common;
  const envelope = eventEnvelopeSchema.parse(value);
  if (!isKnownEventKind(envelope.kind)) return envelope;
  return knownEventSchema.parse(value);
}

/** Like {@link parseEvent} but returns a zod result instead of throwing. */
export function safeParseEvent(
  value: unknown,
): { success: true; data: AnyEvent } | { success: false; error: z.ZodError } {
  try {
    return { success: true, data: parseEvent(value) };
  } catch (error) {
    if (error instanceof z.ZodError) return { success: false, error };
    throw error;
  }
}
