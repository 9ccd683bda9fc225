import { CorruptEventLogError } from '../errors/index';
import type { StoredEvent } from './stored-event';
import { idHash } from './event-log-index';
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

/** Where `scanSegment` puts the events it reads: an array, or anything that counts them. */
export interface EventSink {
  readonly length: number;
  push(event: StoredEvent): unknown;
}

/** What `scanSegment` needs: the bytes, where they came from, and the index to fill. */
export interface ScanSegmentOptions {
  bytes: Uint8Array;
  /** The segment's location for error messages (`FileStore.describe`). */
  file: string;
  /** True for the log's last segment, the only place a torn line may be. */
  allowTornLastLine: boolean;
  /** Events read so far, in order; this segment's events are pushed onto it. */
  events: EventSink;
  /** Position of every event in `events` by id; filled alongside. */
  ids: Map<string, number>;
  /** Where the event at an index was read, for duplicate-id messages. */
  locate(index: number): string;
  /** The line number of the first line in `bytes` (default 1: `bytes` starts the segment). */
  firstLine?: number;
  /** Where `bytes` starts in the segment (default 0); line offsets are reported from there. */
  startOffset?: number;
  /** Receives the byte offset in the segment of each event's line. */
  offsets?: { push(value: number): unknown };
  /** Receives the `idHash` of each event's id. */
  hashes?: { push(value: number): unknown };
  /** Position `events[0]` has in the log (default 0), for the positions put in `ids`. */
  firstPosition?: number;
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
 * Reads JSON Lines into the index, checking every line: valid JSON, a stored-event envelope, an
 * id not seen before. A bad line throws `CorruptEventLogError`, except an unparsable last line of
 * the last segment, which a crash mid-append leaves behind: it is reported as `torn`.
 */
export function scanSegment(options: ScanSegmentOptions): SegmentScan {
  const { bytes, file, events, ids } = options;
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const firstLine = options.firstLine ?? 1;
  const startOffset = options.startOffset ?? 0;
  const firstPosition = options.firstPosition ?? 0;
  let start = 0;
  for (let line = firstLine; start < buffer.length; line += 1) {
    let end = buffer.indexOf(NEWLINE, start);
    if (end === -1) end = buffer.length;
    const text = buffer.toString('utf8', start, end);
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      const reason =
        text === ''
          ? 'empty line'
          : `invalid JSON (${error instanceof Error ? error.message : String(error)})`;
      if (options.allowTornLastLine && end + 1 >= buffer.length) {
        return { validBytes: start, torn: { line, reason }, unterminated: false };
      }
      throw new CorruptEventLogError(file, line, reason);
    }
    const problem = storedEventProblem(value);
    if (problem !== undefined) {
      throw new CorruptEventLogError(file, line, `not an event: ${problem}`);
    }
    const event = value as StoredEvent;
    const previous = ids.get(event.id);
    if (previous !== undefined) {
      throw new CorruptEventLogError(
        file,
        line,
        `duplicate event id "${event.id}", first seen at ${options.locate(previous)}`,
      );
    }
    ids.set(event.id, firstPosition + events.length);
    events.push(event);
    options.offsets?.push(startOffset + start);
    options.hashes?.push(idHash(event.id));
    start = end + 1;
  }
  return {
    validBytes: bytes.length,
    unterminated: buffer.length > 0 && buffer[buffer.length - 1] !== NEWLINE,
  };
}

/** What a {@link SegmentScanner} needs: `scanSegment`'s options but the bytes and where they start. */
export type ScannerOptions = Omit<
  ScanSegmentOptions,
  'bytes' | 'firstLine' | 'startOffset' | 'allowTornLastLine'
>;

/**
 * Checks a segment that arrives in pieces (a bundle being received), line by line as each line
 * completes, exactly as {@link scanSegment} checks a whole one; no torn line is allowed. Give it
 * the pieces in order with `push`, then call `end`.
 */
export class SegmentScanner {
  readonly #options: ScannerOptions;
  /** The start of a line whose newline has not arrived yet. */
  #pending: Buffer[] = [];
  #line = 1;
  #offset = 0;

  constructor(options: ScannerOptions) {
    this.#options = options;
  }

  /** Checks the lines `piece` completes. */
  push(piece: Buffer): void {
    const last = piece.lastIndexOf(NEWLINE);
    if (last === -1) {
      this.#pending.push(piece);
      return;
    }
    let from = 0;
    if (this.#pending.length > 0) {
      // Only the line the piece finishes is copied; the whole lines after it are read in place.
      from = piece.indexOf(NEWLINE) + 1;
      this.#scan(Buffer.concat([...this.#pending, piece.subarray(0, from)]));
    }
    if (from <= last) this.#scan(piece.subarray(from, last + 1));
    this.#pending = last + 1 === piece.length ? [] : [piece.subarray(last + 1)];
  }

  /** Checks what is left (a last line without its newline) and says what the segment held. */
  end(): SegmentScan {
    const rest = Buffer.concat(this.#pending);
    this.#pending = [];
    const scan = rest.length === 0 ? undefined : this.#scan(rest);
    return { validBytes: this.#offset, unterminated: scan?.unterminated ?? false };
  }

  #scan(bytes: Buffer): SegmentScan {
    const before = this.#options.events.length;
    const scan = scanSegment({
      ...this.#options,
      allowTornLastLine: false,
      bytes,
      firstLine: this.#line,
      startOffset: this.#offset,
    });
    // Every line is one event: an empty or bad line throws.
    this.#line += this.#options.events.length - before;
    this.#offset += bytes.length;
    return scan;
  }
}
