import { FerryError } from '../errors/ferry-error';

const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/**
 * The canonical form of a conversation id: a UUID, lower case, with dashes. Stores accept ids
 * with or without dashes, in any case, and report them in this form.
 *
 * @throws FerryError `INVALID_CONVERSATION_ID` for anything but a UUID.
 */
export function canonicalConversationId(id: string): string {
  if (!UUID.test(id)) {
    throw new FerryError(
      'INVALID_CONVERSATION_ID',
      `conversationId "${id}" is not a UUID; pass e.g. crypto.randomUUID() or leave it out.`,
    );
  }
  const hex = id.replaceAll('-', '').toLowerCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The folder name of a conversation in the file layout: its id without dashes. */
export function conversationFolderName(id: string): string {
  return canonicalConversationId(id).replaceAll('-', '');
}
