import { createHash } from 'node:crypto';
import { FerryError } from '../errors/ferry-error';
import { scanSegment, type SegmentScan } from '../persistence/event-log-segment';
import { fileDigest } from '../persistence/file-digests';
import { readFileRange, type FileStore } from '../persistence/file-store';

/**
 * A whole event segment of a folder that travels straight from its file: hashed, and its last
 * line checked, before the bundle's manifest is written, then read again in pieces as the bundle
 * streams. A log of many megabytes is never held whole in memory (a large fresh allocation
 * costs more than reading the file twice from the page cache).
 */
export interface StreamedSegment {
  path: string;
  /** The bytes that travel: the whole file, less a torn last line. */
  size: number;
  sha256: string;
  /** The events in those bytes. */
  events: number;
}

/** Bytes read at a time as a segment streams. */
const PIECE_BYTES = 1024 * 1024;
/** How much of a segment's end is read first to find its last line. */
const TAIL_BYTES = 64 * 1024;

/**
 * Describes the segments `paths` (in log order) for streaming. The last line of the last one is
 * checked as `EventLog.open` checks it, and left out when torn (an append in flight, or a
 * crash), so the bundle holds whole events only; the other lines are checked by the importer.
 */
export async function streamedSegments(
  store: FileStore,
  paths: readonly string[],
): Promise<StreamedSegment[]> {
  const segments: StreamedSegment[] = [];
  for (const [index, path] of paths.entries()) {
    let size = (await store.size(path)) ?? 0;
    let unterminated = false;
    if (index === paths.length - 1 && size > 0) {
      const tail = await lastLine(store, path, size);
      const scan = scanLastLine(tail.bytes, `${store.describe(path)} (from byte ${tail.start})`);
      size = tail.start + scan.validBytes;
      unterminated = scan.unterminated;
    }
    const digest = await fileDigest(store, path, { length: size });
    if (digest?.size !== size) throw changed(store, path);
    segments.push({
      path,
      size,
      sha256: digest.sha256,
      events: digest.lines + (unterminated ? 1 : 0),
    });
  }
  return segments;
}

/** The segment's `size` first bytes, in pieces, checked against its SHA-256 as they go. */
export function segmentContent(store: FileStore, segment: StreamedSegment): AsyncGenerator<Buffer> {
  return verifiedPieces(pieces(store, segment), segment, () => changed(store, segment.path));
}

/** The segment's `size` first bytes, a piece at a time; fewer when the file was cut short. */
async function* pieces(store: FileStore, segment: StreamedSegment): AsyncGenerator<Uint8Array> {
  for (let at = 0; at < segment.size;) {
    const end = Math.min(segment.size, at + PIECE_BYTES);
    const piece = await readFileRange(store, segment.path, at, end);
    yield piece;
    if (piece.length !== end - at) return;
    at = end;
  }
}

/**
 * `source` passed on piece by piece, failing with `changed()` as soon as it holds more than
 * `expected.size` bytes (a tar header has promised that size: never send more), and at its end
 * when it held fewer or another SHA-256 (a file that changed since it was hashed).
 */
export async function* verifiedPieces(
  source: AsyncIterable<Uint8Array>,
  expected: { size: number; sha256: string },
  changed: () => Error,
): AsyncGenerator<Buffer> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const piece of source) {
    size += piece.length;
    if (size > expected.size) throw changed();
    hash.update(piece);
    yield Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength);
  }
  if (size !== expected.size || hash.digest('hex') !== expected.sha256) throw changed();
}

/**
 * Where the last line of a segment's `bytes` begins: just after the newline before its final
 * byte, or 0 when there is none.
 */
export function lastLineStart(bytes: Uint8Array): number {
  return lastNewline(bytes) + 1;
}

/** The newline before the final byte of `bytes`, or -1. */
function lastNewline(bytes: Uint8Array): number {
  const end =
    bytes.length > 0 && bytes[bytes.length - 1] === 0x0a ? bytes.length - 1 : bytes.length;
  return end === 0 ? -1 : bytes.lastIndexOf(0x0a, end - 1);
}

/**
 * Checks a log's last line as `EventLog.open` does: a torn one (an append in flight, or a
 * crash) is left out (`validBytes` ends before it), and a whole event without its newline is
 * `unterminated`. `file` names it in errors.
 */
export function scanLastLine(line: Uint8Array, file: string): SegmentScan {
  return scanSegment({
    bytes: line,
    file,
    allowTornLastLine: true,
    events: [],
    ids: new Map(),
    locate: (at) => `event ${at + 1}`,
  });
}

/** Where the file's last line starts, and its bytes (with its newline, if it has one). */
async function lastLine(
  store: FileStore,
  path: string,
  size: number,
): Promise<{ start: number; bytes: Uint8Array }> {
  for (let window = TAIL_BYTES; ; window *= 2) {
    const from = Math.max(0, size - window);
    const bytes = await readFileRange(store, path, from, size);
    if (bytes.length !== size - from) throw changed(store, path);
    const newline = lastNewline(bytes);
    if (newline >= 0 || from === 0) {
      return { start: from + newline + 1, bytes: bytes.subarray(newline + 1) };
    }
  }
}

function changed(store: FileStore, path: string): FerryError {
  return new FerryError(
    'BUNDLE_SOURCE_CHANGED',
    `The event segment ${store.describe(path)} was cut short or rewritten while it was being ` +
      'exported; export again (a conversation being resumed elsewhere may have repaired it).',
  );
}
