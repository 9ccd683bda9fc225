import { BASE_STATE_FILE } from '../store/file-layout';
import { BundleBaseMismatchError } from '../errors/bundle-base-mismatch-error';
import { digestOfBytes, fileDigest } from '../persistence/file-digests';
import { InMemoryFileStore } from '../persistence/in-memory-file-store';
import type { ConversationStore } from '../store/conversation-store';
import { extract, extractOptions, phaseOf, stagedEvents, stagedState } from './bundle-extract';
import { isDerived, isSegment, listConversationFiles } from './conversation-files';
import { baseProblem, type DeltaInput } from './import-delta';
import { STORE_LOG_SEGMENT, storeLog } from './store-log';

/** What {@link importStoreDelta} needs. */
export interface ImportStoreDeltaInput extends DeltaInput {
  /** A store without segment files (`PostgresStore`, the in-memory store). */
  store: ConversationStore;
}

/**
 * Applies a delta bundle to the copy of its conversation in a store without segment files,
 * whose log a base describes as one segment (`readBundleBase`'s `single_segment`).
 *
 * The bundle is checked and staged in memory first, then, under the conversation's lease, the
 * copy is proved to be the delta's base: its log's bytes (as one segment) and its side files have
 * the sizes and SHA-256 the manifest names, and the log holds `base.event_count` events.
 * Anything else is `BundleBaseMismatchError` and nothing changes. Then the new events are
 * appended (one append: all or none), changed side files written, side files the source no
 * longer has removed, and the state written last. A failure after the append leaves the log
 * longer than its state, but a prefix of the source's, which the next delta extends; the state
 * stays as it was (parked, when it was).
 */
export async function importStoreDelta(input: ImportStoreDeltaInput): Promise<void> {
  const { store, manifest } = input;
  const base = manifest.base;
  const conversationId = manifest.conversation_id;
  if (base === undefined) throw new Error('importStoreDelta: not a delta bundle');
  const mismatch = (problem: string) => new BundleBaseMismatchError({ conversationId, problem });
  if ((await store.readState(conversationId)) === undefined) {
    throw mismatch(`there is no copy of it in ${store.describe(conversationId)}`);
  }
  const staging = new InMemoryFileStore();
  const scanned = await extract({
    entries: input.entries,
    manifest,
    staging,
    ...extractOptions(input),
  });
  const lease = await store.acquireLease(conversationId, { onWarning: () => undefined });
  try {
    // Deleted since the check above: there is nothing to extend.
    if ((await store.readState(conversationId)) === undefined) {
      throw mismatch(`there is no copy of it in ${store.describe(conversationId)}`);
    }
    const log = await storeLog(store, conversationId);
    const side = store.files(conversationId);
    const problem = await baseProblem({
      digest: async (path) => {
        if (path === STORE_LOG_SEGMENT) return log.events > 0 ? digestOfBytes(log.data) : undefined;
        return isSegment(path) ? undefined : fileDigest(side, path);
      },
      base: base.files,
      heldSegments: log.events > 0 ? [STORE_LOG_SEGMENT] : [],
      workspaceDir: input.workspaceDir,
      baseEvents: base.event_count,
    });
    if (problem !== undefined) throw mismatch(problem);
    await input.restoreWorkspace(staging);

    const conversation = staging.scope('conversation');
    const events = await stagedEvents(conversation, manifest.files, scanned);
    if (events.length > 0) await store.appendEvents(lease, events);

    const kept = new Set(base.files.map((file) => file.path));
    const sent = new Set(manifest.files.map((file) => file.path));
    for (const file of manifest.files) {
      if (phaseOf(file.path) !== 'files' || file.path === BASE_STATE_FILE) continue;
      if (isDerived(file.path)) continue;
      await side.writeAtomic(file.path, (await conversation.read(file.path)) ?? new Uint8Array(0));
    }
    for (const path of (await listConversationFiles(side)).side) {
      if (!sent.has(path) && !kept.has(path)) await side.remove(path);
    }
    // The commit point: the state that goes with the longer log.
    await store.writeState(lease, await stagedState(conversation));
  } finally {
    await store.releaseLease(lease);
  }
}
