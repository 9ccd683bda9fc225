import { CorruptEventLogError } from '../errors/index';
import type { StoredEvent } from './stored-event';
import { storedEventProblem } from './stored-event';

const SEGMENT_NAME = /^segment-(\d{6,})\.jsonl$/;
const NEWLINE = 0x0a;

/** The file name of segment `number` (1-based): `segment-000001.jsonl`. */
export function segmentName(number: number): string {
  return `segment-${String(number).padStart(6, '0')}.jsonl`;
}

/** The number of a segment file name, or `undefined` for any other file. */
export function segmentNumber(name: string): number | undefined {
  const match = SEGMENT_NAME.exec(name);
  if (match?.[1] === undefined) return undefined;
  const number = Number(match[1]);
  // Only the canonical spelling counts, so two names never claim one number.
  return segmentName(number) === name ? number : undefined;
}

/** What `scanSegment` needs: the bytes, where they came from, and the index to fill. */
export interface ScanSegmentOptions {
  bytes: Uint8Array;
  /** The segment's location for error messages (`FileStore.describe`). */
  file: string;
  /** True for the log's last segment, the only place a torn line may be. */
  allowTornLastLine: boolean;
  /** Events read so far, in order; this segment's events are pushed onto it. */
  events: StoredEvent[];
  /** Position of every event in `events` by id; filled alongside. */
  ids: Map<string, number>;
  /** Where the event at an index was read, for duplicate-id messages. */
  locate(index: number): string;
}

/** The outcome of `scanSegment`. */
export interface SegmentScan {
  /** The length in bytes of the segment's good part: all of it, or up to a torn last line. */
  validBytes: number;
  /** The torn last line that was left out, if any. */
  torn?: { line: number; reason: string };
  /** The last line is a valid event without its newline (say, after a hand edit). */
  unterminated: boolean;
}

/**
 * Reads a JSON Lines segment into the index, checking every line: valid JSON, a stored-event
 * envelope, an id not seen before. A bad line throws `CorruptEventLogError`, except an unparsable
 * last line of the last segment, which a crash mid-append leaves behind: it is reported as `torn`.
 */
export function scanSegment(options: ScanSegmentOptions): SegmentScan {
  const { bytes, file, events, ids } = options;
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
  const lines = text.split('\n');
  // A final newline leaves an empty string after it, which is not a line.
  const terminated = lines[lines.length - 1] === '';
  if (terminated) lines.pop();
  const count = lines.length;
  for (let index = 0; index < count; index += 1) {
    const line = lines[index] ?? '';
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      const reason =
        line === ''
          ? 'empty line'
          : `invalid JSON (${error instanceof Error ? error.message : String(error)})`;
      if (options.allowTornLastLine && index === count - 1) {
        return {
          validBytes: lastLineStart(bytes, terminated),
          torn: { line: index + 1, reason },
          unterminated: false,
        };
      }
      throw new CorruptEventLogError(file, index + 1, reason);
    }
    const problem = storedEventProblem(value);
    if (problem !== undefined) {
      throw new CorruptEventLogError(file, index + 1, `not an event: ${problem}`);
    }
    const event = value as StoredEvent;
    const previous = ids.get(event.id);
    if (previous !== undefined) {
      throw new CorruptEventLogError(
        file,
        index + 1,
        `duplicate event id "${event.id}", first seen at ${options.locate(previous)}`,
      );
    }
    ids.set(event.id, events.length);
    events.push(event);
  }
  return { validBytes: bytes.length, unterminated: !terminated && count > 0 };
}

/** The byte offset where the last line starts. */
function lastLineStart(bytes: Uint8Array, terminated: boolean): number {
  const end = terminated ? bytes.length - 1 : bytes.length;
  return end === 0 ? 0 : bytes.lastIndexOf(NEWLINE, end - 1) + 1;
}
