import { createHash, type Hash } from 'node:crypto';
import type { DigestOptions, FileStore } from './file-store';

/** The SHA-256 (hex), size and newline count of a file's first `size` bytes. */
export interface FileDigest {
  size: number;
  sha256: string;
  /** Newlines in those bytes: the events of a segment that ends on a whole line. */
  lines: number;
}

/** One file this process has hashed (or written and hashed), valid while its version holds. */
interface Known {
  /** `LocalFileStore.version` of the file when `size`, `lines` and `hash` were last true. */
  version: string;
  size: number;
  lines: number;
  /** SHA-256 of all `size` bytes, not yet finalized, to extend on append; absent when unknown. */
  hash: Hash | undefined;
  /** Digests of prefixes, by length: the sizes either side of a teleport learnt about. */
  prefixes: Map<number, FileDigest>;
}

/** Files remembered at once, and prefixes per file (the oldest go first). */
const MAX_FILES = 256;
const MAX_PREFIXES = 256;

/**
 * What this process knows of the digests of files it read whole or appended to, by absolute
 * path, so that proving "my copy of this log starts with these bytes" (a delta teleport) need
 * not read and hash the whole log again. An entry is trusted only while the file's version (its
 * device, inode, size and times to the nanosecond, which any other write changes) is the one it
 * was taken at, and it follows appends made through `LocalFileStore.append` in this process,
 * which record the version before and after. A file changed any other way is read again.
 */
class DigestMemory {
  readonly #files = new Map<string, Known>();

  /** The digest of the first `length` bytes of `file` at `version`, when known. */
  lookup(file: string, version: string, length: number): FileDigest | undefined {
    const known = this.#files.get(file);
    if (known === undefined || known.version !== version) return undefined;
    this.#keep(file, known);
    const prefix = known.prefixes.get(length);
    if (prefix !== undefined) return prefix;
    if (length !== known.size || known.hash === undefined) return undefined;
    return this.#mark(known, {
      size: known.size,
      sha256: known.hash.copy().digest('hex'),
      lines: known.lines,
    });
  }

  /**
   * Remembers what `hasher` hashed: the whole of `file` at `version`, and the digests of the
   * prefixes it noted.
   */
  remember(file: string, version: string, hasher: PrefixHasher): void {
    const { size, lines, hash } = hasher;
    this.#learn(file, { version, size, lines, hash }, hasher.prefixes.values());
  }

  /**
   * Notes a digest learnt without reading the file (an import that hashed what it wrote): the
   * whole of `file` at `version` is `digest`. Later appends keep it as a prefix.
   */
  note(file: string, version: string, digest: FileDigest): void {
    const { size, lines } = digest;
    this.#learn(file, { version, size, lines, hash: undefined }, [digest]);
  }

  /** Whether `file` is remembered (an append to it then records its versions). */
  has(file: string): boolean {
    return this.#files.has(file);
  }

  /**
   * `data` was appended to `file`, which was at version `before` and is now at `after`. Extends
   * what is known when `before` is the version it was taken at; forgets the file otherwise.
   */
  appended(file: string, before: string, after: string, data: Uint8Array): void {
    const known = this.#files.get(file);
    if (known === undefined) return;
    if (known.version !== before) {
      this.#files.delete(file);
      return;
    }
    known.version = after;
    known.size += data.length;
    known.lines += countNewlines(data);
    if (known.hash !== undefined) {
      known.hash.update(data);
      this.#mark(known, {
        size: known.size,
        sha256: known.hash.copy().digest('hex'),
        lines: known.lines,
      });
    }
  }

  /** Forgets `file` (rewritten or cut short). */
  forget(file: string): void {
    this.#files.delete(file);
  }

  /** Remembers `file` as `whole`, with the digests of its prefixes `digests`. */
  #learn(file: string, whole: Omit<Known, 'prefixes'>, digests: Iterable<FileDigest>): void {
    const known: Known = { ...whole, prefixes: new Map() };
    for (const digest of digests) this.#mark(known, digest);
    this.#keep(file, known);
  }

  #mark(known: Known, digest: FileDigest): FileDigest {
    known.prefixes.delete(digest.size);
    known.prefixes.set(digest.size, digest);
    if (known.prefixes.size > MAX_PREFIXES) {
      known.prefixes.delete(known.prefixes.keys().next().value as number);
    }
    return digest;
  }

  /** Keeps `file` as the most recently used, forgetting the least recently used past the limit. */
  #keep(file: string, known: Known): void {
    this.#files.delete(file);
    this.#files.set(file, known);
    if (this.#files.size > MAX_FILES) this.#files.delete(this.#files.keys().next().value as string);
  }
}

/**
 * Hashes a file's bytes as they are read, piece by piece (a piece may be reused afterwards),
 * noting the digest of each prefix in `lengths` on the way.
 */
export class PrefixHasher {
  readonly hash = createHash('sha256');
  /** The digests of the prefixes asked for that the bytes so far reach, by length. */
  readonly prefixes = new Map<number, FileDigest>();
  readonly #cuts: number[];
  size = 0;
  lines = 0;

  constructor(lengths: readonly number[]) {
    this.#cuts = [...new Set(lengths)]
      .filter((length) => length >= 0)
      .sort((left, right) => left - right);
    this.#note();
  }

  update(piece: Uint8Array): void {
    let offset = 0;
    while (offset < piece.length) {
      const cut = this.#cuts.find((length) => length > this.size);
      const take = Math.min(piece.length - offset, cut === undefined ? Infinity : cut - this.size);
      const part = piece.subarray(offset, offset + take);
      this.hash.update(part);
      this.lines += countNewlines(part);
      this.size += take;
      offset += take;
      this.#note();
    }
  }

  #note(): void {
    if (!this.#cuts.includes(this.size) || this.prefixes.has(this.size)) return;
    const sha256 = this.hash.copy().digest('hex');
    this.prefixes.set(this.size, { size: this.size, sha256, lines: this.lines });
  }
}

/** The process's memory of file digests (see {@link DigestMemory}). */
export const digestMemory = new DigestMemory();

/** The digest of `data` as a whole. */
export function digestOfBytes(data: Uint8Array): FileDigest {
  return {
    size: data.length,
    sha256: createHash('sha256').update(data).digest('hex'),
    lines: countNewlines(data),
  };
}

/** Newlines in `data`. */
export function countNewlines(data: Uint8Array): number {
  let count = 0;
  for (let index = data.indexOf(0x0a); index !== -1; index = data.indexOf(0x0a, index + 1)) {
    count += 1;
  }
  return count;
}

/**
 * `store.digest(path, options)`, or for a store without it the file read (or `options.data`)
 * and hashed; `undefined` when the file does not exist.
 */
export async function fileDigest(
  store: FileStore,
  path: string,
  options: DigestOptions = {},
): Promise<FileDigest | undefined> {
  if (store.digest !== undefined) return store.digest(path, options);
  const data = options.data ?? (await store.read(path));
  if (data === undefined) return undefined;
  return digestOfBytes(data.subarray(0, Math.min(options.length ?? data.length, data.length)));
}
