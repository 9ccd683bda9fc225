import type { FileStore } from '../persistence/file-store';
import type { ConversationStore } from './conversation-store';

/** Whether `store` is a `ConversationStore` (rather than a `FileStore` of the folder layout). */
export function isConversationStore(
  store: ConversationStore | FileStore,
): store is ConversationStore {
  return typeof (store as Partial<ConversationStore>).acquireLease === 'function';
}
