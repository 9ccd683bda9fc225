import { BASE_STATE_FILE } from '../conversation/local-conversation';
import { conversationStateSchema, type ConversationState } from '../conversation/state-schema';
import { FerryError } from '../errors/ferry-error';
import { scanSegment, segmentNumber } from '../persistence/event-log-segment';
import type { FileStore } from '../persistence/file-store';
import { readJson } from '../persistence/json-file';
import type { StoredEvent } from '../persistence/stored-event';

const EVENTS_DIR = 'events';

/** A Ferry conversation as read from its folder, without opening (or locking) it. */
export interface FerryConversationSnapshot {
  state: ConversationState;
  events: StoredEvent[];
}

/**
 * Reads a conversation's state and every event, checked like `EventLog.open` checks them, and
 * changes nothing: a torn last line (an append in flight) is left out, not cut off.
 *
 * @throws FerryError `CONVERSATION_NOT_FOUND` without a `base_state.json`,
 *   `INVALID_STATE_DOCUMENT` for a state that does not parse; `CorruptEventLogError`.
 */
export async function readFerryConversation(store: FileStore): Promise<FerryConversationSnapshot> {
  const persisted = await readJson(store, BASE_STATE_FILE);
  if (persisted === undefined) {
    throw new FerryError(
      'CONVERSATION_NOT_FOUND',
      `No Ferry conversation in ${store.describe('')}: it has no ${BASE_STATE_FILE}.`,
    );
  }
  const parsed = conversationStateSchema.safeParse(persisted);
  if (!parsed.success) {
    throw new FerryError(
      'INVALID_STATE_DOCUMENT',
      `${store.describe(BASE_STATE_FILE)} is not a valid conversation state: ${parsed.error.message}`,
      { cause: parsed.error },
    );
  }
  const segments = (await store.list(EVENTS_DIR))
    .map((name) => ({ name, number: segmentNumber(name) }))
    .filter((entry): entry is { name: string; number: number } => entry.number !== undefined)
    .sort((left, right) => left.number - right.number);
  const events: StoredEvent[] = [];
  const ids = new Map<string, number>();
  for (const [position, { name }] of segments.entries()) {
    const path = `${EVENTS_DIR}/${name}`;
    scanSegment({
      bytes: (await store.read(path)) ?? new Uint8Array(0),
      file: store.describe(path),
      allowTornLastLine: position === segments.length - 1,
      events,
      ids,
      locate: (index) => `event ${index + 1}`,
    });
  }
  return { state: parsed.data, events };
}
