import { randomUUID } from 'node:crypto';
import { FerryError } from '@ferry/sdk-core';

/** A UUID with or without its dashes, any case (what OpenHands' `UUID` parameters accept). */
export const UUID_PATTERN = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;

/** The canonical form of a conversation id (lowercase UUID with dashes), or undefined. */
export function canonicalConversationId(id: string): string | undefined {
  if (!UUID_PATTERN.test(id)) return undefined;
  const hex = id.replaceAll('-', '').toLowerCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The folder of a conversation under `<dataDir>/conversations`: its id without dashes. */
export function folderOf(canonicalId: string): string {
  return canonicalId.replaceAll('-', '');
}

/** Conversation folder names: 32 lowercase hex digits. */
export const CONVERSATION_FOLDER = /^[0-9a-f]{32}$/;

/** The canonical id of a conversation folder name. */
export function idOfFolder(folder: string): string {
  return `${folder.slice(0, 8)}-${folder.slice(8, 12)}-${folder.slice(12, 16)}-${folder.slice(16, 20)}-${folder.slice(20)}`;
}

/**
 * The id a new conversation gets: `requested` in canonical form, or a new UUID when none is
 * requested.
 * @throws INVALID_CONVERSATION_ID when `requested` is not a UUID.
 */
export function newConversationId(requested: string | null | undefined): string {
  if (requested === undefined || requested === null) return randomUUID();
  const canonical = canonicalConversationId(requested);
  if (canonical === undefined) {
    throw new FerryError(
      'INVALID_CONVERSATION_ID',
      `Conversation id "${requested}" is not a UUID; leave it out to get a new one.`,
    );
  }
  return canonical;
}
