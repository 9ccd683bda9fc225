import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { Header, Pax } from 'tar';
import { BundleFormatError } from '../errors/bundle-format-error';
import { BundleSecurityError } from '../errors/bundle-security-error';
import { BundleTooLargeError } from '../errors/bundle-too-large-error';
import { bundlePathProblem } from './bundle-path';
import { TAR_BLOCK_SIZE } from './tar-writer';

/** Limits that keep a hostile archive from exhausting memory or disk. */
export interface TarReaderLimits {
  /** Most uncompressed bytes to read, headers and padding included; also caps each entry. */
  maxBytes: number;
  /** Most entries (extended headers included). */
  maxEntries: number;
}

/** A regular file or a folder of the archive, with its checked path. */
export interface TarEntry {
  path: string;
  type: 'File' | 'Directory';
  mode: number;
  /** The content's size in bytes, as its header says (0 for folders). */
  size: number;
  /**
   * The content in pieces, as it is decompressed (nothing for folders). It can be read once,
   * before the next entry is asked for; what is left unread then is skipped.
   */
  chunks(): AsyncGenerator<Buffer, void, undefined>;
}

/** Bytes the decompressor hands on at a time: fewer, larger pieces decompress faster. */
const GUNZIP_CHUNK_BYTES = 1024 * 1024;

/** An entry's whole content. */
export async function readEntryData(entry: TarEntry): Promise<Buffer> {
  const pieces: Buffer[] = [];
  for await (const piece of entry.chunks()) pieces.push(piece);
  return joinPieces(pieces, entry.size);
}

/** The pieces of a content of `size` bytes as one buffer (the piece itself when there is one). */
export function joinPieces(pieces: readonly Buffer[], size: number): Buffer {
  return pieces.length === 1 ? (pieces[0] as Buffer) : Buffer.concat(pieces, size);
}

/** Extended headers larger than this are refused: they hold a path or a few numbers. */
const MAX_META_BYTES = 1024 * 1024;

const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);

/**
 * Reads a gzip-compressed tar strictly, yielding its regular files and folders in order, each
 * with its content as a stream of pieces (so a consumer can check a large file as it arrives).
 *
 * It accepts only what a bundle can hold and refuses the rest instead of skipping it
 * (`BundleSecurityError`): paths that are absolute or climb with `..`, symbolic and hard links,
 * devices, FIFOs, unknown entry types, and more than `maxEntries` entries. More than `maxBytes`
 * of uncompressed data is `BundleTooLargeError`, detected from an entry's header before its body
 * is read. A damaged or truncated archive is `BundleFormatError`. Header decoding (ustar, pax,
 * GNU long names, base-256 numbers) is node-tar's.
 *
 * Stopping the iteration early (`break`, or a consumer's error) closes the source.
 */
export async function* readTarEntries(
  source: Readable,
  limits: TarReaderLimits,
): AsyncGenerator<TarEntry, void, undefined> {
  const gunzip = createGunzip({ chunkSize: GUNZIP_CHUNK_BYTES });
  source.on('error', (error) => gunzip.destroy(error));
  const reader = new BlockReader(source.pipe(gunzip), limits.maxBytes);
  try {
    let extended: Pax | undefined;
    let globalExtended: Pax | undefined;
    let entries = 0;
    for (;;) {
      const block = await reader.read(TAR_BLOCK_SIZE);
      if (block === undefined) {
        throw new BundleFormatError({
          problem:
            entries === 0
              ? 'the archive is empty'
              : 'the archive ends without its end marker (was it cut off?)',
        });
      }
      const header = decodeHeader(block, extended, globalExtended);
      if (header.nullBlock) break;
      entries += 1;
      if (entries > limits.maxEntries) {
        throw new BundleSecurityError({
          reason: `has more than ${limits.maxEntries} entries (raise maxEntries if this is expected)`,
        });
      }
      if (!header.cksumValid) {
        throw new BundleFormatError({ problem: 'a tar header is damaged (bad checksum)' });
      }
      // node-tar's Header prefixes a pax path with the ustar prefix field; the pax path is whole.
      const rawPath = extended?.path ?? header.path ?? '';
      const size = header.size ?? 0;
      switch (header.type) {
        case 'ExtendedHeader':
        case 'OldExtendedHeader':
          extended = Pax.parse(await readMeta(reader, rawPath, size), extended, false);
          continue;
        case 'GlobalExtendedHeader':
          globalExtended = Pax.parse(await readMeta(reader, rawPath, size), globalExtended, true);
          continue;
        case 'NextFileHasLongPath':
        case 'OldGnuLongPath': {
          const longPath = (await readMeta(reader, rawPath, size)).replace(/\0.*/s, '');
          extended ??= new Pax({});
          extended.path = longPath;
          continue;
        }
        default:
          break;
      }
      // An extended header describes only the entry right after it.
      extended = undefined;
      const type = acceptedType(header.type, rawPath, header.linkpath);
      const path = type === 'Directory' ? rawPath.replace(/\/$/, '') : rawPath;
      const problem = bundlePathProblem(path);
      if (problem !== undefined) throw new BundleSecurityError({ entry: rawPath, reason: problem });
      reader.reserve(size, path);
      let remaining = size;
      let read = false;
      const chunks = async function* (): AsyncGenerator<Buffer, void, undefined> {
        if (read) throw new Error(`The content of the archive entry "${path}" was read already.`);
        read = true;
        while (remaining > 0) {
          const piece = await reader.readSome(remaining, path);
          remaining -= piece.length;
          yield piece;
        }
      };
      yield { path, type, mode: header.mode ?? 0o644, size, chunks };
      // Whatever the consumer left unread.
      while (remaining > 0) remaining -= (await reader.readSome(remaining, path)).length;
      await reader.skipPadding(size, path);
    }
    // Read the rest so gzip checks its trailer: a damaged or cut-off stream is caught here.
    await reader.drain();
  } finally {
    gunzip.destroy();
    source.destroy();
  }
}

function decodeHeader(block: Buffer, extended?: Pax, globalExtended?: Pax): Header {
  try {
    return new Header(block, 0, extended, globalExtended);
  } catch (error) {
    throw new BundleFormatError({
      problem: `a tar header cannot be read (${error instanceof Error ? error.message : String(error)})`,
      cause: error,
    });
  }
}

function acceptedType(
  type: string,
  path: string,
  linkpath: string | undefined,
): 'File' | 'Directory' {
  if (FILE_TYPES.has(type)) return 'File';
  if (type === 'Directory') return 'Directory';
  const target = linkpath === undefined || linkpath === '' ? '' : ` (to "${linkpath}")`;
  const reasons: Record<string, string> = {
    SymbolicLink: `is a symbolic link${target}`,
    Link: `is a hard link${target}`,
    NextFileHasLongLinkpath: 'is the long target of a link',
    CharacterDevice: 'is a character device',
    BlockDevice: 'is a block device',
    FIFO: 'is a FIFO',
  };
  throw new BundleSecurityError({
    entry: path,
    reason: reasons[type] ?? `has the unsupported tar entry type "${type}"`,
  });
}

async function readMeta(reader: BlockReader, path: string, size: number): Promise<string> {
  if (size > MAX_META_BYTES) {
    throw new BundleSecurityError({
      entry: path,
      reason: `is an extended header of ${size} bytes (over ${MAX_META_BYTES})`,
    });
  }
  reader.reserve(size, path);
  const data = size === 0 ? Buffer.alloc(0) : await reader.readExactly(size, path);
  await reader.skipPadding(size, path);
  return data.toString('utf8');
}

/** Reads exact byte counts from the decompressed stream, counting them against a budget. */
class BlockReader {
  readonly #iterator: AsyncIterator<Buffer>;
  readonly #maxBytes: number;
  #chunks: Buffer[] = [];
  #buffered = 0;
  /** Bytes handed out so far. */
  #consumed = 0;
  /** Bytes taken from the stream so far. */
  #pulled = 0;

  constructor(stream: AsyncIterable<Buffer>, maxBytes: number) {
    this.#iterator = stream[Symbol.asyncIterator]();
    this.#maxBytes = maxBytes;
  }

  /** Refuses an entry whose body would take the total past the budget, before reading it. */
  reserve(size: number, path: string): void {
    if (size > this.#maxBytes) {
      throw new BundleTooLargeError({
        subject: `entry "${path}"`,
        size,
        limit: this.#maxBytes,
        option: 'maxBytes',
      });
    }
    if (this.#consumed + size > this.#maxBytes) this.#tooLarge(this.#consumed + size);
  }

  /** The next `length` bytes; `undefined` at the very end of the stream. */
  async read(length: number): Promise<Buffer | undefined> {
    if (!(await this.#fill(length))) {
      if (this.#buffered === 0) return undefined;
      throw truncated();
    }
    return this.#take(length);
  }

  /** The next bytes, at least one and at most `max`, without copying. */
  async readSome(max: number, path: string): Promise<Buffer> {
    if (this.#buffered === 0 && !(await this.#pull())) throw truncated(path);
    const first = this.#chunks[0] as Buffer;
    const piece = first.length <= max ? first : first.subarray(0, max);
    if (piece === first) this.#chunks.shift();
    else this.#chunks[0] = first.subarray(max);
    this.#buffered -= piece.length;
    this.#consumed += piece.length;
    return piece;
  }

  async readExactly(length: number, path: string): Promise<Buffer> {
    if (!(await this.#fill(length))) throw truncated(path);
    return this.#take(length);
  }

  async skipPadding(size: number, path: string): Promise<void> {
    const remainder = size % TAR_BLOCK_SIZE;
    if (remainder !== 0) await this.readExactly(TAR_BLOCK_SIZE - remainder, path);
  }

  /** Reads to the end of the stream, within the budget. */
  async drain(): Promise<void> {
    this.#chunks = [];
    this.#buffered = 0;
    while (await this.#pull());
  }

  async #fill(length: number): Promise<boolean> {
    while (this.#buffered < length) {
      if (!(await this.#pull())) return false;
    }
    return true;
  }

  async #pull(): Promise<boolean> {
    let next: IteratorResult<Buffer>;
    try {
      next = await this.#iterator.next();
    } catch (error) {
      if (isZlibError(error)) {
        throw new BundleFormatError({
          problem: `it is not a valid gzip stream (${error.message})`,
          cause: error,
        });
      }
      throw error;
    }
    if (next.done === true) return false;
    this.#chunks.push(next.value);
    this.#buffered += next.value.length;
    this.#pulled += next.value.length;
    if (this.#pulled > this.#maxBytes) this.#tooLarge(this.#pulled);
    return true;
  }

  #take(length: number): Buffer {
    const all = this.#chunks.length === 1 ? this.#chunks[0] : Buffer.concat(this.#chunks);
    if (all === undefined) return Buffer.alloc(0);
    const rest = all.subarray(length);
    this.#chunks = rest.length === 0 ? [] : [rest];
    this.#buffered = rest.length;
    this.#consumed += length;
    return all.subarray(0, length);
  }

  #tooLarge(size: number): never {
    throw new BundleTooLargeError({
      subject: 'uncompressed bundle',
      size,
      limit: this.#maxBytes,
      option: 'maxBytes',
    });
  }
}

function truncated(path?: string): BundleFormatError {
  return new BundleFormatError({
    ...(path === undefined ? {} : { entry: path }),
    problem: 'the archive ends in the middle of an entry (was it cut off?)',
  });
}

function isZlibError(error: unknown): error is Error & { code: string } {
  return (
    error instanceof Error &&
    'code' in error &&
    typeof error.code === 'string' &&
    error.code.startsWith('Z_')
  );
}
