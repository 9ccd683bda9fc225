import { conversationFolderName } from '../conversation/local-conversation';

/** The canonical (lowercase, dashed) form of a conversation id; throws for a non-UUID. */
export function canonicalId(id: string): string {
  const hex = conversationFolderName(id);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
