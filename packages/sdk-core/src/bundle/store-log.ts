import { EVENTS_DIR } from '../store/file-layout';
import { segmentName } from '../persistence/event-log-segment';
import type { ConversationStore } from '../store/conversation-store';

/**
 * Where a bundle carries the log of a store without segment files (`PostgresStore`, the
 * in-memory store): one segment, whatever the log's length.
 */
export const STORE_LOG_SEGMENT = `${EVENTS_DIR}/${segmentName(1)}`;

/**
 * A store's events as the bytes of one segment: each event's JSON on a line. These are the bytes
 * an export of the store carries, and what a delta's base describes of the store's copy.
 */
export async function storeLog(
  store: ConversationStore,
  conversationId: string,
): Promise<{ data: Buffer; events: number }> {
  const events = await store.readEvents(conversationId);
  let text = '';
  for (const event of events) text += `${JSON.stringify(event)}\n`;
  return { data: Buffer.from(text), events: events.length };
}
