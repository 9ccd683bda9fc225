import {
  ConversationChangedSinceExportError,
  type ExportedExtent,
} from '../errors/conversation-changed-since-export-error';
import { newEventEnvelope } from '../event/event-base';
import type { Event } from '../event/event-schemas';
import type { ConversationLog } from './conversation-log';
import type { TeleportHop } from './conversation-options';
import type { ConversationState } from './state-schema';

/** What teleport bookkeeping needs of an open conversation. */
export interface TeleportTarget {
  id: string;
  log: ConversationLog;
  assertWritable(): void;
  updateState(patch: Partial<ConversationState>): Promise<void>;
  appendEvents(events: readonly Event[]): Promise<void>;
}

/**
 * Parks the conversation as living at `destination` (see `LocalConversation.markTeleported`).
 * Runs in the log's write queue: no append lands between the check and the parking, and every
 * append queued after it is refused.
 */
export async function parkConversation(
  target: TeleportTarget,
  destination: { to: string; bundleId?: string },
  exported: ExportedExtent | undefined,
): Promise<void> {
  const { log } = target;
  await log.exclusive(async () => {
    target.assertWritable();
    // Read, not taken from memory: the history may not be in memory yet (see ConversationLog).
    const last = log.length === 0 ? undefined : (await log.read(log.length - 1))[0];
    const actual = { eventCount: log.length, lastEventId: last?.id };
    if (
      exported !== undefined &&
      ((exported.eventCount !== undefined && exported.eventCount !== actual.eventCount) ||
        (exported.lastEventId !== undefined && exported.lastEventId !== actual.lastEventId))
    ) {
      throw new ConversationChangedSinceExportError(target.id, exported, actual);
    }
    await target.updateState({
      teleport: {
        to: destination.to,
        at: new Date().toISOString(),
        ...(destination.bundleId === undefined ? {} : { bundle_id: destination.bundleId }),
      },
    });
  });
}

/** Records a teleported conversation's arrival: no parked mark, and a `TeleportEvent`. */
export async function recordArrival(target: TeleportTarget, hop: TeleportHop): Promise<void> {
  await target.updateState({ teleport: null });
  await target.appendEvents([arrivalEvent(hop)]);
}

/** The `TeleportEvent` of an arrival. */
export function arrivalEvent(hop: TeleportHop): Event {
  return {
    ...newEventEnvelope(),
    source: 'environment',
    kind: 'TeleportEvent',
    from: hop.from,
    to: hop.to,
    bundle_id: hop.bundleId,
  };
}
