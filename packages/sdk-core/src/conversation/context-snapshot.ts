import { createHash } from 'node:crypto';
import { VISIBLE_KINDS } from '../agent/build-messages';
import type { FileStore } from '../persistence/file-store';
import type { StoredEvent } from '../persistence/stored-event';

/**
 * The side file that tells a resume where the live context starts: `context_snapshot.json` in
 * the conversation's files. Optional, never trusted blindly (see {@link readContextSnapshot}),
 * and rebuilt from the log whenever it is missing, damaged or disagrees with the log. A tool
 * that appends to the log itself, not through a conversation, should remove it: the next resume
 * then reads the whole log once and writes it again.
 */
export const CONTEXT_SNAPSHOT_FILE = 'context_snapshot.json';

const VERSION = 1;

/**
 * What the next LLM request can need from the history before the last condensation. Every event
 * at or after `condensation.position` may matter; before it, only the `pinned` ones: the events
 * the LLM still sees (not forgotten by any condensation; among them any action still waiting for
 * its answer, which a crash recovery must answer), and the condensation whose summary is the
 * latest.
 */
export interface ContextSnapshot {
  condensation: { position: number; id: string };
  pinned: { position: number; id: string }[];
}

/**
 * What `context_snapshot.json` can say: where the live context starts, or `'uncondensed'` — the
 * log had no condensation when it was written, so the live context is the whole log. A resume
 * then reads no event until the live context is first needed (the next LLM request, crash
 * recovery, `conversation.events`); a condensation appended since is found in that read.
 */
export type StoredContextSnapshot = ContextSnapshot | 'uncondensed';

/** An event and its position in the log. */
export interface PlacedEvent {
  position: number;
  event: StoredEvent;
}

/**
 * The snapshot of a history, from `entries`: every event of the log, or a part of it that holds
 * at least the live context (what a conversation opened from a snapshot has in memory). Works on
 * the stored documents, so it reads no more than the fields it needs. `undefined` when the
 * history has no condensation: then the live context is the whole log.
 */
export function computeContextSnapshot(
  entries: readonly PlacedEvent[],
): ContextSnapshot | undefined {
  let last = -1;
  const forgotten = new Set<string>();
  let summaryAt = -1;
  for (const [index, { event }] of entries.entries()) {
    if (event.kind === 'Condensation') {
      last = index;
      const ids = event.forgotten_event_ids;
      if (Array.isArray(ids)) for (const id of ids) if (typeof id === 'string') forgotten.add(id);
      if (typeof event.summary === 'string' && event.summary !== '') summaryAt = index;
    }
  }
  const condensation = entries[last];
  if (condensation === undefined) return undefined;
  const pinned: ContextSnapshot['pinned'] = [];
  for (let index = 0; index < last; index += 1) {
    const { position, event } = entries[index] as PlacedEvent;
    const visible = VISIBLE_KINDS.has(event.kind) && !forgotten.has(event.id);
    if (visible || index === summaryAt) pinned.push({ position, id: event.id });
  }
  return {
    condensation: { position: condensation.position, id: condensation.event.id },
    pinned,
  };
}

function checksumOf(body: unknown): string {
  return createHash('sha256').update(JSON.stringify(body)).digest('hex');
}

/** Writes the snapshot (a plain atomic replace: losing it costs one full read at the next resume). */
export async function writeContextSnapshot(
  files: FileStore,
  snapshot: StoredContextSnapshot,
): Promise<void> {
  const body =
    snapshot === 'uncondensed'
      ? { version: VERSION, condensation: null, pinned: [] }
      : {
          version: VERSION,
          condensation: snapshot.condensation,
          pinned: snapshot.pinned.map(({ position, id }) => [position, id]),
        };
  await files.writeAtomic(
    CONTEXT_SNAPSHOT_FILE,
    JSON.stringify({ ...body, checksum: checksumOf(body) }),
  );
}

/**
 * The snapshot as written (`'uncondensed'` for a log without condensation), or `undefined` when
 * there is none or it cannot be used (not JSON, another version, a checksum that does not match,
 * positions out of order). Whether it agrees with the log is for the reader to check against the
 * events themselves.
 */
export async function readContextSnapshot(
  files: FileStore,
): Promise<StoredContextSnapshot | undefined> {
  let text: string | undefined;
  try {
    text = await files.readText(CONTEXT_SNAPSHOT_FILE);
  } catch {
    return undefined;
  }
  if (text === undefined) return undefined;
  let file: { version?: unknown; condensation?: unknown; pinned?: unknown; checksum?: unknown };
  try {
    file = JSON.parse(text) as typeof file;
  } catch {
    return undefined;
  }
  if (typeof file !== 'object' || file === null || file.version !== VERSION) return undefined;
  const { checksum, ...body } = file;
  if (checksum !== checksumOf(body)) return undefined;
  const condensation = file.condensation as { position?: unknown; id?: unknown } | null;
  if (condensation === null && Array.isArray(file.pinned) && file.pinned.length === 0) {
    return 'uncondensed';
  }
  if (
    typeof condensation !== 'object' ||
    condensation === null ||
    !Number.isSafeInteger(condensation.position) ||
    typeof condensation.id !== 'string' ||
    !Array.isArray(file.pinned)
  ) {
    return undefined;
  }
  const position = condensation.position as number;
  const pinned: ContextSnapshot['pinned'] = [];
  for (const entry of file.pinned as unknown[]) {
    if (!Array.isArray(entry)) return undefined;
    const [at, id] = entry as unknown[];
    const previous = pinned.at(-1)?.position ?? -1;
    if (!Number.isSafeInteger(at) || (at as number) <= previous || (at as number) >= position) {
      return undefined;
    }
    if (typeof id !== 'string') return undefined;
    pinned.push({ position: at as number, id });
  }
  return { condensation: { position, id: condensation.id }, pinned };
}
