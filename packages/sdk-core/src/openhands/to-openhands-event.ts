import type { StoredEvent } from '../persistence/stored-event';
import { openHandsEventFields } from './openhands-fields';

/** The state-update key a Ferry `TeleportEvent` is written under in an OpenHands log. */
export const FERRY_TELEPORT_KEY = 'ferry_teleport';

/** An event made fit for OpenHands' models, and what that took. */
export interface OpenHandsEventConversion {
  /** The event as OpenHands accepts it. */
  event: StoredEvent;
  /** Fields left out because OpenHands' model of the kind forbids them (Ferry-only fields). */
  removed?: Record<string, unknown>;
  /** Set when the event had to change kind (a Ferry-only kind): the original. */
  replaced?: StoredEvent;
}

/**
 * Makes one Ferry event valid under OpenHands' event models, which forbid unknown fields:
 *
 * - a kind both know keeps only the fields OpenHands' model of it has; Ferry-only fields
 *   (`llm_provider` and `reasoning_parts` on actions and messages, `changes` on state updates)
 *   come back in `removed`;
 * - a `TeleportEvent` (Ferry-only) becomes a `ConversationStateUpdateEvent` with key
 *   `ferry_teleport` and value `{ from, to, bundle_id }`, so the timeline still shows the hop;
 * - an event of a kind Ferry does not know came from OpenHands (or a newer Ferry) and is
 *   returned unchanged.
 */
export function toOpenHandsEvent(event: StoredEvent): OpenHandsEventConversion {
  if (event.kind === 'TeleportEvent') {
    const { id, timestamp, source, from, to, bundle_id } = event;
    return {
      event: {
        id,
        timestamp,
        source: source ?? 'environment',
        kind: 'ConversationStateUpdateEvent',
        key: FERRY_TELEPORT_KEY,
        value: { from, to, bundle_id },
      },
      replaced: event,
    };
  }
  const fields = openHandsEventFields[event.kind];
  if (fields === undefined) return { event };
  const allowed = new Set(fields);
  const kept: Record<string, unknown> = {};
  const removed: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(event)) {
    if (allowed.has(key)) kept[key] = value;
    else removed[key] = value;
  }
  return Object.keys(removed).length === 0 ? { event } : { event: kept as StoredEvent, removed };
}
