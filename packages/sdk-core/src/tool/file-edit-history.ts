import { createHash } from 'node:crypto';
import { z } from 'zod';
import { readJson, writeJsonAtomic } from '../persistence/json-file';
import type { FileStore } from '../persistence/file-store';

/** The folder of the conversation's store that holds the `file_editor` undo history. */
export const FILE_EDITS_DIR = 'file_edits';

/** Versions kept per file by default, as in OpenHands. */
export const DEFAULT_FILE_HISTORY_DEPTH = 10;

/**
 * The undo history of one file: its content before each edit, oldest first. `null` stands for
 * a version that held a secret value: it is not written to disk (secrets never are), so it
 * cannot be restored.
 */
export const fileEditHistorySchema = z.object({
  path: z.string(),
  versions: z.array(z.string().nullable()),
});
export type FileEditHistory = z.infer<typeof fileEditHistorySchema>;

/** Where the history of `path` lives in the store: `file_edits/<hash of path>.json`. */
export function fileEditHistoryPath(path: string): string {
  const hash = createHash('sha256').update(path).digest('hex').slice(0, 32);
  return `${FILE_EDITS_DIR}/${hash}.json`;
}

async function load(store: FileStore, path: string): Promise<FileEditHistory> {
  const parsed = fileEditHistorySchema.safeParse(await readJson(store, fileEditHistoryPath(path)));
  // A history of another path (a hash collision) or a damaged one is no history.
  return parsed.success && parsed.data.path === path ? parsed.data : { path, versions: [] };
}

/** Options of {@link pushFileVersion}. */
export interface PushFileVersionOptions {
  store: FileStore;
  /** The file's absolute path. */
  path: string;
  /** Its content before the edit. */
  content: string;
  /** Versions to keep; the oldest are dropped. */
  depth: number;
  /** Masks secret values: a content it changes is kept as `null`. */
  maskSecrets(text: string): string;
}

/** Records the content of a file before an edit, so `undo_edit` can restore it. */
export async function pushFileVersion(options: PushFileVersionOptions): Promise<void> {
  const history = await load(options.store, options.path);
  const version = options.maskSecrets(options.content) === options.content ? options.content : null;
  const versions = [...history.versions, version].slice(-Math.max(1, options.depth));
  await writeJsonAtomic(options.store, fileEditHistoryPath(options.path), {
    path: options.path,
    versions,
  });
}

/**
 * The newest recorded version of a file: `undefined` when there is none, `null` when it held a
 * secret and was not kept. It stays recorded until {@link dropLastFileVersion}.
 */
export async function lastFileVersion(
  store: FileStore,
  path: string,
): Promise<string | null | undefined> {
  return (await load(store, path)).versions.at(-1);
}

/** Forgets the newest recorded version of a file (once `undo_edit` restored it). */
export async function dropLastFileVersion(store: FileStore, path: string): Promise<void> {
  const versions = (await load(store, path)).versions.slice(0, -1);
  if (versions.length === 0) await store.remove(fileEditHistoryPath(path));
  else await writeJsonAtomic(store, fileEditHistoryPath(path), { path, versions });
}
