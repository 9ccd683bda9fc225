import type { ConversationStore, FileStore } from '@ferry/sdk-core';
import { BASE_STATE_FILE, canonicalConversationId, FerryError } from '@ferry/sdk-core';

/** Options of {@link copyConversation}. */
export interface CopyConversationOptions {
  /** Where the conversation is (e.g. a `FileConversationStore` on a `persistenceDir`). */
  from: ConversationStore;
  /** Where it goes (e.g. a `PostgresStore`); it must not hold the conversation yet. */
  to: ConversationStore;
  conversationId: string;
}

/** What {@link copyConversation} copied. */
export interface CopyConversationResult {
  conversationId: string;
  events: number;
  /** Side files (`TASKS.json`, `observations/...`). */
  files: number;
}

const PAGE = 1000;
/** What a folder-layout store shows among the side files but holds as state, log and lease. */
const NOT_SIDE_FILES = new Set([BASE_STATE_FILE, '.lock', 'events']);

/**
 * Copies a conversation between two stores (state document, event log, side files), exactly as
 * stored (secrets stay sealed or redacted): moving folders into PostgreSQL, or a PostgreSQL
 * conversation into a folder for `writeConversationBundle`. Both leases are held throughout, so
 * nobody writes either copy meanwhile; the state is written last, so the copy exists (is listed,
 * opens) only once complete.
 *
 * @throws FerryError `CONVERSATION_NOT_FOUND` when `from` has no such conversation.
 * @throws FerryError `CONVERSATION_EXISTS` when `to` already has it (nothing is changed).
 * @throws ConversationLockedError while the conversation is open in either store.
 */
export async function copyConversation(
  options: CopyConversationOptions,
): Promise<CopyConversationResult> {
  const { from, to } = options;
  const id = canonicalConversationId(options.conversationId);
  const source = await from.acquireLease(id);
  try {
    const state = await from.readState(id);
    if (state === undefined) {
      throw new FerryError(
        'CONVERSATION_NOT_FOUND',
        `There is no conversation at ${from.describe(id)}.`,
      );
    }
    const target = await to.acquireLease(id);
    try {
      if ((await to.readState(id)) !== undefined || (await to.eventCount(id)) > 0) {
        throw new FerryError(
          'CONVERSATION_EXISTS',
          `${to.describe(id)} already holds this conversation; delete it there first to copy it again.`,
        );
      }
      let events = 0;
      for (;;) {
        const page = await from.readEvents(id, { from: events, limit: PAGE });
        if (page.length === 0) break;
        await to.appendEvents(target, page);
        events += page.length;
      }
      const files = await copyFiles(from.files(id), to.files(id), '');
      await to.writeState(target, state);
      return { conversationId: id, events, files };
    } finally {
      await to.releaseLease(target);
    }
  } finally {
    await from.releaseLease(source);
  }
}

async function copyFiles(from: FileStore, to: FileStore, dir: string): Promise<number> {
  let copied = 0;
  for (const name of await from.list(dir)) {
    if (dir === '' && NOT_SIDE_FILES.has(name)) continue;
    if (name.startsWith('.') && name.endsWith('.tmp')) continue;
    const path = dir === '' ? name : `${dir}/${name}`;
    let bytes: Uint8Array | undefined;
    try {
      bytes = await from.read(path);
    } catch (error) {
      if ((error as { code?: unknown }).code !== 'EISDIR') throw error;
      await to.mkdir(path);
      copied += await copyFiles(from, to, path);
      continue;
    }
    if (bytes === undefined) continue;
    await to.writeAtomic(path, bytes);
    copied += 1;
  }
  return copied;
}
