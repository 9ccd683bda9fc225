import { NumberList } from './event-log-index';
import type { FileStore } from './file-store';
import type { LocalFileStore } from './local-file-store';
import type { Segment } from './event-log-ranges';
import {
  SegmentScanner,
  segmentNumber,
  type EventSink,
  type SegmentScan,
} from './event-log-segment';
import type { StoredEvent } from './stored-event';

/**
 * What reading a log's segments in order found: its events and segment table, as a full open
 * of an `EventLog` builds them. An import that has just checked every line of the segments it
 * wrote hands this to the open that follows (see {@link rememberScannedLog}), which then adopts
 * it instead of reading and parsing the same bytes again.
 */
export interface ScannedLog {
  segments: Segment[];
  /** The SHA-256 (hex) of each segment's bytes, in the order of `segments`. */
  digests: string[];
  /**
   * Each segment file's `LocalFileStore.version` once written in place, when known: a segment
   * whose version is unchanged is adopted without reading it.
   */
  versions?: (string | undefined)[];
  /** How many events the segments hold. */
  count: number;
  /**
   * The events, when the scan kept them; without them an open adopts the segment table and id
   * hashes only, and reads the events when they are asked for (as after an open from the index).
   */
  events?: StoredEvent[];
  ids: Map<string, number>;
  hashes: NumberList;
  /** The last segment ends in a valid event without its newline. */
  unterminated: boolean;
}

/**
 * Builds a {@link ScannedLog} from segments that arrive one after another, each in pieces (a
 * bundle being received), checking every line as `EventLog.open` does.
 */
export class ScannedLogBuilder {
  readonly #events: EventSink;
  readonly ids = new Map<string, number>();
  readonly #hashes = new NumberList();
  readonly #segments: Segment[] = [];
  readonly #digests: string[] = [];
  #unterminated = false;
  /** Segments came in log order (ascending numbers), so the events are in log order. */
  #inOrder = true;

  /**
   * With `keepEvents: false` every line is checked but the events are not kept: only the
   * segment table, ids and id hashes (a large log then costs little memory, and little garbage
   * collection, to receive).
   */
  constructor(options: { keepEvents?: boolean } = {}) {
    this.#events = options.keepEvents === false ? new EventCounter() : [];
  }

  /** How many events the segments pushed so far hold. */
  get count(): number {
    return this.#events.length;
  }

  /**
   * Starts the segment `name` (`segment-000001.jsonl`); `file` names it in errors. Its `end`
   * takes the SHA-256 of the bytes pushed.
   */
  segment(
    name: string,
    file: string,
  ): { push(piece: Buffer): void; end(sha256: string): SegmentScan } {
    const number = segmentNumber(name) ?? 0;
    const previous = this.#segments.at(-1);
    if (previous !== undefined && previous.number >= number) this.#inOrder = false;
    const segment: Segment = {
      name,
      number,
      size: 0,
      firstIndex: this.#events.length,
      offsets: new NumberList(),
    };
    const scanner = new SegmentScanner({
      file,
      events: this.#events,
      ids: this.ids,
      locate: (index) => `event ${index + 1}`,
      offsets: segment.offsets,
      hashes: this.#hashes,
    });
    return {
      push: (piece) => scanner.push(piece),
      end: (sha256) => {
        const scan = scanner.end();
        segment.size = scan.validBytes;
        this.#segments.push(segment);
        this.#digests.push(sha256);
        this.#unterminated = scan.unterminated;
        return scan;
      },
    };
  }

  /** The log the segments make, or `undefined` when they did not come in log order. */
  result(): ScannedLog | undefined {
    if (!this.#inOrder) return undefined;
    return {
      segments: this.#segments,
      digests: this.#digests,
      count: this.#events.length,
      ...(Array.isArray(this.#events) ? { events: this.#events } : {}),
      ids: this.ids,
      hashes: this.#hashes,
      unterminated: this.#unterminated,
    };
  }
}

/** An {@link EventSink} that counts the events and keeps none. */
class EventCounter implements EventSink {
  length = 0;
  push(): void {
    this.length += 1;
  }
}

/** The log's folder in a conversation folder (what `FileConversationStore` opens). */
const LOG_DIR = 'events';

/** How long a scan waits for its open, and how many may wait at once (they hold memory). */
const HOLD_MS = 30_000;
const MAX_HELD = 2;

const held = new Map<string, { log: ScannedLog; timer: NodeJS.Timeout }>();

/** Where a conversation folder's log is, as the key of a kept scan. */
function locationOf(folder: FileStore): string {
  return folder.describe(LOG_DIR);
}

/**
 * Keeps `log`, the scan of the segments just written in the conversation folder `folder` (a
 * local folder, whose location names it uniquely in this process), for the next open of that
 * log here ({@link takeScannedLog}), noting each segment file's version so that the open need
 * not read an unchanged one. It is dropped after 30 s unused; at most two are kept.
 */
export async function rememberScannedLog(folder: LocalFileStore, log: ScannedLog): Promise<void> {
  const segments = folder.scope(LOG_DIR);
  log.versions = await Promise.all(log.segments.map((segment) => segments.version(segment.name)));
  const location = locationOf(folder);
  forget(location);
  if (held.size >= MAX_HELD) forget(held.keys().next().value as string);
  const timer = setTimeout(() => held.delete(location), HOLD_MS);
  timer.unref();
  held.set(location, { log, timer });
}

/**
 * The scan kept for the conversation folder `folder`, once: an `EventLog` opening there adopts
 * it only if the segments on disk are still exactly those it was made from (unchanged files, or
 * the same names, sizes and SHA-256), and reads them otherwise.
 */
export function takeScannedLog(folder: FileStore): ScannedLog | undefined {
  const location = locationOf(folder);
  const entry = held.get(location);
  forget(location);
  return entry?.log;
}

function forget(location: string): void {
  const entry = held.get(location);
  if (entry === undefined) return;
  clearTimeout(entry.timer);
  held.delete(location);
}

/**
 * Notes the digest of each segment of `log` just written in the conversation folder `folder`
 * (see `LocalFileStore.noteDigest`): proving later that this copy starts with these bytes (a
 * delta teleport back) then costs a `stat`, not a read of the log.
 */
export async function noteSegmentDigests(folder: LocalFileStore, log: ScannedLog): Promise<void> {
  const segments = folder.scope(LOG_DIR);
  for (const [position, segment] of log.segments.entries()) {
    const sha256 = log.digests[position];
    if (sha256 === undefined) continue;
    const last = position === log.segments.length - 1;
    const end = log.segments[position + 1]?.firstIndex ?? log.count;
    const lines = end - segment.firstIndex - (last && log.unterminated ? 1 : 0);
    await segments.noteDigest(segment.name, { size: segment.size, sha256, lines });
  }
}
