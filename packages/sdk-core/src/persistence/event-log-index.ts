import { createHash } from 'node:crypto';

/** A growable list of unsigned 32-bit numbers (offsets, id hashes): compact and quick to load. */
export class NumberList {
  #array: Uint32Array;
  #length: number;

  constructor(initial?: Uint32Array) {
    this.#array = initial ?? new Uint32Array(64);
    this.#length = initial?.length ?? 0;
  }

  get length(): number {
    return this.#length;
  }

  push(value: number): void {
    if (this.#length === this.#array.length) {
      const grown = new Uint32Array(Math.max(64, this.#array.length * 2));
      grown.set(this.#array);
      this.#array = grown;
    }
    this.#array[this.#length] = value;
    this.#length += 1;
  }

  /** The number at `index` (0 past the end). */
  get(index: number): number {
    return index < this.#length ? (this.#array[index] ?? 0) : 0;
  }

  /** The numbers, without copying. */
  view(): Uint32Array {
    return this.#array.subarray(0, this.#length);
  }
}

/**
 * The event log's index, `events/index.json`: where each event's line starts in its segment and a
 * 32-bit hash of each event's id. It lets a lazy `EventLog` open without reading the history:
 * the segments' sizes are checked against it, only the lines appended since it was written are
 * read and checked, and older lines are read (and checked) when asked for.
 *
 * The file is optional and never trusted blindly: it carries a checksum of its own content, and
 * an index that is missing, unreadable, of another version, or that disagrees with the segments
 * on disk is ignored and rebuilt from a full scan. It is written without fsync (losing it costs
 * only a rebuild).
 */
export const EVENT_LOG_INDEX_FILE = 'index.json';

const VERSION = 1;

/** One segment as the index records it. */
export interface IndexedSegment {
  name: string;
  /** Bytes of the segment the index covers: every line up to here is an indexed event. */
  size: number;
  /** Byte offset of each indexed event's line in the segment, in order. */
  offsets: Uint32Array;
}

/** What the index holds, decoded. */
export interface EventLogIndexData {
  segments: IndexedSegment[];
  /** {@link idHash} of every indexed event's id, in log order. */
  hashes: Uint32Array;
}

interface IndexBody {
  version: number;
  segments: { name: string; size: number; offsets: string }[];
  hashes: string;
}

/** FNV-1a of the id's UTF-16 code units: a cheap filter for "is this id in the history?". */
export function idHash(id: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < id.length; index += 1) {
    hash ^= id.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

function encodeNumbers(values: Uint32Array): string {
  return Buffer.from(values.buffer, values.byteOffset, values.byteLength).toString('base64');
}

function decodeNumbers(text: unknown): Uint32Array | undefined {
  if (typeof text !== 'string') return undefined;
  const bytes = Buffer.from(text, 'base64');
  if (bytes.length % 4 !== 0) return undefined;
  // Copied into an array of its own: aligned, and not holding the decoding buffer.
  const values = new Uint32Array(bytes.length / 4);
  new Uint8Array(values.buffer).set(bytes);
  return values;
}

function checksumOf(body: string): string {
  return createHash('sha1').update(body).digest('hex');
}

/** The index file's text for `data`: its checksum on the first line, then the index as JSON. */
export function encodeEventLogIndex(data: EventLogIndexData): string {
  const body: IndexBody = {
    version: VERSION,
    segments: data.segments.map((segment) => ({
      name: segment.name,
      size: segment.size,
      offsets: encodeNumbers(segment.offsets),
    })),
    hashes: encodeNumbers(data.hashes),
  };
  const text = JSON.stringify(body);
  return `${checksumOf(text)}\n${text}`;
}

/**
 * The index in `text`, or `undefined` when it cannot be used: a checksum that does not match its
 * content, not JSON, another version, or numbers that do not add up.
 */
export function decodeEventLogIndex(text: string): EventLogIndexData | undefined {
  const newline = text.indexOf('\n');
  if (newline < 0) return undefined;
  const body = text.slice(newline + 1);
  if (text.slice(0, newline) !== checksumOf(body)) return undefined;
  let file: IndexBody;
  try {
    file = JSON.parse(body) as IndexBody;
  } catch {
    return undefined;
  }
  if (typeof file !== 'object' || file === null || file.version !== VERSION) return undefined;
  if (!Array.isArray(file.segments)) return undefined;
  const hashes = decodeNumbers(file.hashes);
  if (hashes === undefined) return undefined;
  const segments: IndexedSegment[] = [];
  let events = 0;
  for (const segment of file.segments) {
    const offsets = decodeNumbers(segment.offsets);
    if (
      offsets === undefined ||
      typeof segment.name !== 'string' ||
      !Number.isSafeInteger(segment.size) ||
      !ascendingBelow(offsets, segment.size)
    ) {
      return undefined;
    }
    events += offsets.length;
    segments.push({ name: segment.name, size: segment.size, offsets });
  }
  return events === hashes.length ? { segments, hashes } : undefined;
}

/** Offsets start at 0 and rise strictly, all below `size`. */
function ascendingBelow(offsets: Uint32Array, size: number): boolean {
  if (offsets.length === 0) return true;
  if (offsets[0] !== 0 || (offsets[offsets.length - 1] ?? 0) >= size) return false;
  for (let index = 1; index < offsets.length; index += 1) {
    if ((offsets[index] ?? 0) <= (offsets[index - 1] ?? 0)) return false;
  }
  return true;
}
