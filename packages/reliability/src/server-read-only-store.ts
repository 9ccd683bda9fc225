import type { DurabilityOptions, FileStore, FileStoreStats, RemoveOptions } from '@ferry/sdk-core';

/** The errno a refused write raises: the disk turned read-only, filled up, or fails. */
export type RefusalCode = 'EROFS' | 'ENOSPC' | 'EIO';

const MESSAGES: Record<RefusalCode, string> = {
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EIO: 'i/o error',
};

interface RefusalState {
  code: RefusalCode | undefined;
  refused: number;
}

/**
 * A `FileStore` that delegates to another and, while {@link refuse}d, fails every call that
 * would change the disk (write, append, truncate, rename, remove, mkdir, exclusive create) with
 * the chosen errno, before touching anything; reads go through. This is a data folder that
 * turned read-only (or full, or failing) under a running server, which root in a sandbox cannot
 * get from `chmod`. Where `faulty-file-store.ts` fails one chosen call, this fails them all.
 */
export class ReadOnlyToggleStore implements FileStore {
  readonly #inner: FileStore;
  readonly #state: RefusalState;

  constructor(inner: FileStore, state: RefusalState = { code: undefined, refused: 0 }) {
    this.#inner = inner;
    this.#state = state;
  }

  /** Writes refused so far (shared with the scopes). */
  get refused(): number {
    return this.#state.refused;
  }

  /** From now on every write fails with `code`. */
  refuse(code: RefusalCode): void {
    this.#state.code = code;
  }

  /** Writes go through again. */
  heal(): void {
    this.#state.code = undefined;
  }

  get stats(): FileStoreStats {
    return this.#inner.stats;
  }

  #write<T>(operation: string, path: string, run: () => Promise<T>): Promise<T> {
    const code = this.#state.code;
    if (code === undefined) return run();
    this.#state.refused += 1;
    const location = this.#inner.describe(path);
    const error: NodeJS.ErrnoException = new Error(
      `${code}: ${MESSAGES[code]}, ${operation} '${location}'`,
    );
    error.code = code;
    error.syscall = operation;
    error.path = location;
    return Promise.reject(error);
  }

  read(path: string): Promise<Uint8Array | undefined> {
    return this.#inner.read(path);
  }

  readText(path: string): Promise<string | undefined> {
    return this.#inner.readText(path);
  }

  list(dir: string): Promise<string[]> {
    return this.#inner.list(dir);
  }

  exists(path: string): Promise<boolean> {
    return this.#inner.exists(path);
  }

  size(path: string): Promise<number | undefined> {
    return this.#inner.size(path);
  }

  writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
    return this.#write('open', path, () => this.#inner.writeAtomic(path, data));
  }

  append(path: string, data: string | Uint8Array, options?: DurabilityOptions): Promise<void> {
    return this.#write('write', path, () => this.#inner.append(path, data, options));
  }

  truncate(path: string, length: number, options?: DurabilityOptions): Promise<void> {
    return this.#write('ftruncate', path, () => this.#inner.truncate(path, length, options));
  }

  remove(path: string, options?: RemoveOptions): Promise<void> {
    return this.#write('unlink', path, () => this.#inner.remove(path, options));
  }

  rename(from: string, to: string): Promise<void> {
    return this.#write('rename', from, () => this.#inner.rename(from, to));
  }

  mkdir(path: string): Promise<void> {
    return this.#write('mkdir', path, () => this.#inner.mkdir(path));
  }

  createExclusive(
    path: string,
    data: string | Uint8Array,
    options?: { fsync?: boolean },
  ): Promise<boolean> {
    return this.#write('open', path, () => this.#inner.createExclusive(path, data, options));
  }

  scope(subdir: string): FileStore {
    return new ReadOnlyToggleStore(this.#inner.scope(subdir), this.#state);
  }

  describe(path: string): string {
    return this.#inner.describe(path);
  }
}
