import type { FileDigest } from './file-digests';

/**
 * Counters of the durable work a store did. A store and all its scopes share one object, so a
 * benchmark or a test can assert, for example, "at most 3 fsyncs per step".
 */
export interface FileStoreStats {
  /** fsync calls on files and directories (the in-memory store counts the ones a local store would make). */
  fsyncs: number;
  /** Calls that wrote file content: `writeAtomic`, `append` and `createExclusive`. */
  writes: number;
}

/** Options of `FileStore.append` and `FileStore.truncate`. */
export interface DurabilityOptions {
  /** Flush the change to disk before resolving (default `true`). */
  fsync?: boolean;
}

/** Options of `FileStore.digest`. */
export interface DigestOptions {
  /** Digest only the first `length` bytes (default: the whole file). */
  length?: number;
  /**
   * The whole file as the caller has just read it, while nothing else writes it: hashed instead
   * of reading the file again (ignored when its length is not the file's size).
   */
  data?: Uint8Array;
}

/** An entry of a folder, as `FileStore.listEntries` gives it. */
export interface FileStoreEntry {
  name: string;
  /** Whether it is a folder (a link is followed). */
  directory: boolean;
}

/** Options of `FileStore.remove`. */
export interface RemoveOptions {
  /** Also remove a directory with everything in it (default `false`: files and empty directories only). */
  recursive?: boolean;
}

/**
 * Where a conversation keeps its files: the seam that lets other stores plug in.
 *
 * Paths are relative to the store's root and `/`-separated (`events/segment-000001.jsonl`); the
 * empty string is the root itself. An absolute path, or one that climbs above the root with `..`,
 * is refused with a `FerryError` of code `INVALID_STORE_PATH`.
 */
export interface FileStore {
  /** Counters shared by this store and its scopes. */
  readonly stats: FileStoreStats;
  /** The file's bytes, or `undefined` when it does not exist. */
  read(path: string): Promise<Uint8Array | undefined>;
  /**
   * Bytes `start` to before `end` of the file (fewer when it is shorter), or `undefined` when it
   * does not exist. Optional: readers fall back to `read` and take the part they need.
   */
  readRange?(path: string, start: number, end: number): Promise<Uint8Array | undefined>;
  /**
   * `readRange`, synchronously: what lets an event log answer an index into history it has not
   * loaded without making its callers wait. Optional: without it such reads are refused.
   */
  readRangeSync?(path: string, start: number, end: number): Uint8Array | undefined;
  /**
   * The SHA-256, size and newline count of the file's first `length` bytes (of all of it when
   * it is shorter), or `undefined` when it does not exist. A local store remembers what it
   * hashed and what it appended while the file is otherwise unchanged, so asking again costs a
   * `stat`. Optional: callers fall back to reading and hashing.
   */
  digest?(path: string, options?: DigestOptions): Promise<FileDigest | undefined>;
  /** The file's content as UTF-8 text, or `undefined` when it does not exist. */
  readText(path: string): Promise<string | undefined>;
  /**
   * Replaces the file as a whole: readers see the old content or the new, never a mix, even after
   * a crash (temp file in the same folder, fsync, rename over, fsync the folder). Creates the
   * parent folders as needed.
   */
  writeAtomic(path: string, data: string | Uint8Array): Promise<void>;
  /** Appends to the file with one write, creating it (and its folders) when missing. */
  append(path: string, data: string | Uint8Array, options?: DurabilityOptions): Promise<void>;
  /**
   * `append` without fsync, synchronously, to a file that exists: for a hot path of short writes
   * (a bundle's pieces as they are received), where a trip through the thread pool costs more
   * than the write. Optional: callers fall back to `append`.
   */
  appendSync?(path: string, data: Uint8Array): void;
  /** Cuts the file down to `length` bytes. */
  truncate(path: string, length: number, options?: DurabilityOptions): Promise<void>;
  /** Names of the entries of a folder, sorted; `[]` when the folder does not exist. */
  list(dir: string): Promise<string[]>;
  /**
   * `list` with whether each entry is a folder, in one read where the store can (a local
   * folder's entry types). Optional: callers fall back to `list` and list each entry to find
   * the folders, a trip each.
   */
  listEntries?(dir: string): Promise<FileStoreEntry[]>;
  /** Whether a file or folder exists at the path. */
  exists(path: string): Promise<boolean>;
  /** Removes a file or an empty folder (any folder with `recursive`); a missing path is not an error. */
  remove(path: string, options?: RemoveOptions): Promise<void>;
  /**
   * Moves a file or a folder (with everything in it) to `to`, creating the parent folders of `to`.
   * On a local folder it is one `rename(2)`, so a crash leaves it in one place or the other, and
   * the folders involved are fsynced. Fails like the file system (by `code`): `ENOENT` when `from`
   * is missing, `EEXIST` when `to` exists, `EINVAL` for the root or a folder into itself.
   */
  rename(from: string, to: string): Promise<void>;
  /** Creates the folder and its parents; an existing folder is not an error. */
  mkdir(path: string): Promise<void>;
  /** The file's size in bytes, or `undefined` when it does not exist. */
  size(path: string): Promise<number | undefined>;
  /**
   * Creates the file with this content only if it does not exist yet (`O_EXCL`), durably unless
   * `fsync: false` (the file and its folder entry are then not synced: for a file that need not
   * outlive a crash, such as a lock, whose owner would not either; folders it creates are still
   * synced). Resolves `false`, writing nothing, when it already exists. The primitive behind
   * locks.
   */
  createExclusive(
    path: string,
    data: string | Uint8Array,
    options?: { fsync?: boolean },
  ): Promise<boolean>;
  /** A store rooted at `subdir` of this one, sharing its files and stats. */
  scope(subdir: string): FileStore;
  /** A human-readable location for messages: an absolute path, or `memory:/...`. */
  describe(path: string): string;
}

/**
 * Bytes `start` to `end` of the file (fewer when it is shorter; none when it does not exist):
 * `readRange` where the store has it, else the whole file read and cut.
 */
export async function readFileRange(
  store: FileStore,
  path: string,
  start: number,
  end: number,
): Promise<Uint8Array> {
  const bytes =
    store.readRange === undefined
      ? (await store.read(path))?.subarray(start, end)
      : await store.readRange(path, start, end);
  return bytes ?? new Uint8Array(0);
}
