import type { DurabilityOptions, FileStore, FileStoreStats, RemoveOptions } from '@ferry/sdk-core';

/** The store calls a fault can hit. */
export type FaultOperation = 'writeAtomic' | 'append' | 'rename' | 'truncate' | 'createExclusive';

/** The errno a fault raises. */
export type FaultCode = 'ENOSPC' | 'EIO' | 'EACCES';

/**
 * When the failing call fails: `before` it does anything; `partial` after writing half of the
 * data (a short write, `append` only); `fsync` after the call did its work, as when the data
 * reached the file but the flush to disk failed.
 */
export type FaultMoment = 'before' | 'partial' | 'fsync';

export interface Fault {
  operation: FaultOperation;
  code: FaultCode;
  moment: FaultMoment;
  /** The n-th call of `operation` after `arm()` is the first to fail (1-based). */
  at: number;
  /** Keep failing every later call of `operation` until `heal()` (a full disk); default once. */
  persistent?: boolean;
}

interface FaultState {
  fault: Fault | undefined;
  calls: number;
  injected: number;
}

function errnoError(code: FaultCode, operation: string, path: string): NodeJS.ErrnoException {
  const messages: Record<FaultCode, string> = {
    ENOSPC: 'no space left on device',
    EIO: 'i/o error',
    EACCES: 'permission denied',
  };
  const error: NodeJS.ErrnoException = new Error(
    `${code}: ${messages[code]}, ${operation} '${path}'`,
  );
  error.code = code;
  error.syscall = operation;
  error.path = path;
  return error;
}

/**
 * A `FileStore` that delegates to another and injects file system errors at a chosen call, so
 * tests can see what a conversation does when the disk fills up, fails or turns read-only.
 */
export class FaultyFileStore implements FileStore {
  readonly #inner: FileStore;
  readonly #state: FaultState;

  constructor(inner: FileStore, state: FaultState = { fault: undefined, calls: 0, injected: 0 }) {
    this.#inner = inner;
    this.#state = state;
  }

  /** Faults raised so far (shared with the scopes). */
  get injected(): number {
    return this.#state.injected;
  }

  /** Starts counting calls of `fault.operation`; the `fault.at`-th one fails. */
  arm(fault: Fault): void {
    this.#state.fault = fault;
    this.#state.calls = 0;
  }

  /** Removes the fault: every call goes through again. */
  heal(): void {
    this.#state.fault = undefined;
  }

  get stats(): FileStoreStats {
    return this.#inner.stats;
  }

  async #call<T>(
    operation: FaultOperation,
    path: string,
    run: () => Promise<T>,
    partial?: () => Promise<unknown>,
  ): Promise<T> {
    const fault = this.#state.fault;
    if (fault === undefined || fault.operation !== operation) return run();
    this.#state.calls += 1;
    const hit =
      this.#state.calls === fault.at || (fault.persistent === true && this.#state.calls > fault.at);
    if (!hit) return run();
    if (fault.persistent !== true) this.#state.fault = undefined;
    this.#state.injected += 1;
    const error = errnoError(fault.code, operation, this.#inner.describe(path));
    if (fault.moment === 'partial' && partial !== undefined) await partial();
    if (fault.moment === 'fsync') await run();
    throw error;
  }

  read(path: string): Promise<Uint8Array | undefined> {
    return this.#inner.read(path);
  }

  readText(path: string): Promise<string | undefined> {
    return this.#inner.readText(path);
  }

  writeAtomic(path: string, data: string | Uint8Array): Promise<void> {
    return this.#call('writeAtomic', path, () => this.#inner.writeAtomic(path, data));
  }

  append(path: string, data: string | Uint8Array, options?: DurabilityOptions): Promise<void> {
    return this.#call(
      'append',
      path,
      () => this.#inner.append(path, data, options),
      () => {
        const bytes = typeof data === 'string' ? Buffer.from(data) : data;
        return this.#inner.append(path, bytes.subarray(0, Math.ceil(bytes.length / 2)), options);
      },
    );
  }

  truncate(path: string, length: number, options?: DurabilityOptions): Promise<void> {
    return this.#call('truncate', path, () => this.#inner.truncate(path, length, options));
  }

  list(dir: string): Promise<string[]> {
    return this.#inner.list(dir);
  }

  exists(path: string): Promise<boolean> {
    return this.#inner.exists(path);
  }

  remove(path: string, options?: RemoveOptions): Promise<void> {
    return this.#inner.remove(path, options);
  }

  rename(from: string, to: string): Promise<void> {
    return this.#call('rename', from, () => this.#inner.rename(from, to));
  }

  mkdir(path: string): Promise<void> {
    return this.#inner.mkdir(path);
  }

  size(path: string): Promise<number | undefined> {
    return this.#inner.size(path);
  }

  createExclusive(
    path: string,
    data: string | Uint8Array,
    options?: { fsync?: boolean },
  ): Promise<boolean> {
    return this.#call('createExclusive', path, () =>
      this.#inner.createExclusive(path, data, options),
    );
  }

  scope(subdir: string): FileStore {
    return new FaultyFileStore(this.#inner.scope(subdir), this.#state);
  }

  describe(path: string): string {
    return this.#inner.describe(path);
  }
}
