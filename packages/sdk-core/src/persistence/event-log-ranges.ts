import { FerryError } from '../errors/index';
import type { IndexedSegment, NumberList } from './event-log-index';
import { scanSegment } from './event-log-segment';
import type { StoredEvent } from './stored-event';

/** One segment of an open log. */
export interface Segment {
  name: string;
  number: number;
  /** Bytes of the segment that hold good events. */
  size: number;
  /** Index of the segment's first event in the log. */
  firstIndex: number;
  /** Byte offset of each of the segment's events. */
  offsets: NumberList;
}

/** A torn last line found at open, to cut off. */
export interface Torn {
  path: string;
  size: number;
  line: number;
  reason: string;
}

/** The events of one segment that a read needs, and where their bytes are. */
export interface RangePart {
  path: string;
  /** Log position of the first event. */
  first: number;
  count: number;
  /** Line number of the first event in its segment. */
  line: number;
  start: number;
  end: number;
  /** The indexed offset of each event. */
  offsets: Uint32Array;
}

/**
 * Whether the index still describes the segments on disk (`sizes` of `found`): the same names,
 * every indexed segment but the last of them exactly its indexed size, the last at least that
 * (appends since). Indexed bytes never change: a segment is only appended to, the last one.
 */
export function indexFits(
  indexed: readonly IndexedSegment[],
  found: readonly { name: string }[],
  sizes: readonly number[],
): boolean {
  if (indexed.length > found.length) return false;
  for (const [position, segment] of indexed.entries()) {
    const size = sizes[position] ?? 0;
    if (segment.name !== found[position]?.name || size < segment.size) return false;
    const lastIndexed = position === indexed.length - 1;
    const lastOnDisk = position === found.length - 1;
    if ((!lastIndexed || !lastOnDisk) && size !== segment.size) return false;
  }
  return true;
}

/** Positions before `before` whose hash is `hash`. */
export function positionsOfHash(hashes: NumberList, before: number, hash: number): number[] {
  const view = hashes.view().subarray(0, before);
  const positions: number[] = [];
  for (
    let position = view.indexOf(hash);
    position >= 0;
    position = view.indexOf(hash, position + 1)
  ) {
    positions.push(position);
  }
  return positions;
}

/** The byte ranges, per segment, of the events `from` to before `to`. */
export function rangeParts(
  segments: readonly Segment[],
  from: number,
  to: number,
  pathOf: (name: string) => string,
): RangePart[] {
  const parts: RangePart[] = [];
  for (const segment of segments) {
    const count = segment.offsets.length;
    const first = Math.max(from, segment.firstIndex);
    const last = Math.min(to, segment.firstIndex + count);
    if (first >= last) continue;
    const local = first - segment.firstIndex;
    const localEnd = last - segment.firstIndex;
    parts.push({
      path: pathOf(segment.name),
      first,
      count: last - first,
      line: local + 1,
      start: segment.offsets.get(local),
      end: localEnd < count ? segment.offsets.get(localEnd) : segment.size,
      offsets: segment.offsets.view().slice(local, localEnd),
    });
  }
  return parts;
}

/**
 * Parses a range read back from disk, checking it like an open would and against the index:
 * the same lines, the same ids. A line that is not an event is `CorruptEventLogError` (naming
 * the segment and line); a well-formed line that is not the indexed one means the index is
 * stale: `FerryError` `EVENT_LOG_CHANGED`.
 */
export function parseRange(options: {
  part: RangePart;
  bytes: Uint8Array;
  file: string;
  hashes: NumberList;
  locate: (position: number) => string;
}): StoredEvent[] {
  const { part, file } = options;
  const events: StoredEvent[] = [];
  const offsets: number[] = [];
  const hashes: number[] = [];
  scanSegment({
    bytes: options.bytes,
    file,
    allowTornLastLine: false,
    events,
    ids: new Map(),
    locate: (index) => options.locate(part.first + index),
    firstLine: part.line,
    startOffset: part.start,
    offsets,
    hashes,
  });
  const agrees =
    events.length === part.count &&
    offsets.every((offset, index) => offset === part.offsets[index]) &&
    hashes.every((hash, index) => hash === options.hashes.get(part.first + index));
  if (!agrees) {
    throw new FerryError(
      'EVENT_LOG_CHANGED',
      `The event log at ${file} changed under its index (lines ${part.line} to ` +
        `${part.line + part.count - 1} are not the events indexed there); open the conversation ` +
        'again to read it whole and rebuild the index.',
    );
  }
  return events;
}
