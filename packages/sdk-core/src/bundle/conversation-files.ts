import { createHash } from 'node:crypto';
import { BASE_STATE_FILE, EVENTS_DIR } from '../store/file-layout';
import { EVENT_LOG_INDEX_FILE } from '../persistence/event-log-index';
import { segmentNumber } from '../persistence/event-log-segment';
import type { FileStore } from '../persistence/file-store';
import { hasErrorCode } from '../persistence/system-error';

/** The files of a conversation folder, by role. */
export interface ConversationFiles {
  /** `events/segment-*.jsonl`, in log order. */
  segments: string[];
  /** Every other file but `base_state.json`, the log's index, the lock and temp files, sorted. */
  side: string[];
}

/** Lists a conversation folder's files (see {@link ConversationFiles}). */
export async function listConversationFiles(store: FileStore): Promise<ConversationFiles> {
  const [events, files] = await Promise.all([store.list(EVENTS_DIR), filesUnder(store, '')]);
  const segments = events
    .map((name) => ({ name, number: segmentNumber(name) }))
    .filter((entry): entry is { name: string; number: number } => entry.number !== undefined)
    .sort((left, right) => left.number - right.number)
    .map((entry) => `${EVENTS_DIR}/${entry.name}`);
  const side: string[] = [];
  for (const path of files) {
    if (
      path === BASE_STATE_FILE ||
      path === '.lock' ||
      isTemporary(path) ||
      isSegment(path) ||
      isDerived(path)
    ) {
      continue;
    }
    side.push(path);
  }
  return { segments, side };
}

/**
 * Whether `path` is a cache derived from the log (`events/index.json`): it never travels in a
 * bundle, a bundle's copy of it (from an earlier version) is not imported, and each side keeps or
 * rebuilds its own. Its content changes whenever the log's owner rewrites it, so carrying or
 * comparing it would make two copies of the same log look different.
 */
export function isDerived(path: string): boolean {
  return path === `${EVENTS_DIR}/${EVENT_LOG_INDEX_FILE}`;
}

/** Whether `path` is an event segment, `events/segment-NNNNNN.jsonl`. */
export function isSegment(path: string): boolean {
  return (
    path.startsWith(`${EVENTS_DIR}/`) &&
    segmentNumber(path.slice(EVENTS_DIR.length + 1)) !== undefined
  );
}

/** Lowercase hex SHA-256. */
export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** Paths of the files under `dir`, recursively, sorted. */
async function filesUnder(store: FileStore, dir: string): Promise<string[]> {
  const at = (name: string) => (dir === '' ? name : `${dir}/${name}`);
  if (store.listEntries !== undefined) {
    // The folders are known from the listing: no trip per entry to find them.
    const entries = await store.listEntries(dir);
    const nested = await Promise.all(
      entries.map((entry) =>
        entry.directory ? filesUnder(store, at(entry.name)) : Promise.resolve([at(entry.name)]),
      ),
    );
    return nested.flat();
  }
  const paths: string[] = [];
  for (const name of await store.list(dir)) {
    const path = at(name);
    let children: string[] | undefined;
    try {
      children = await filesUnder(store, path);
    } catch (error) {
      if (!hasErrorCode(error, 'ENOTDIR')) throw error;
    }
    if (children === undefined) paths.push(path);
    else paths.push(...children);
  }
  return paths;
}

/** The temp files of `writeAtomic` and `createExclusive`: `.<name>.<uuid>.tmp`. */
function isTemporary(path: string): boolean {
  return /^\..+\.tmp$/.test(path.slice(path.lastIndexOf('/') + 1));
}
