import { DuplicateEventIdError, FerryError } from '../errors/index';
import { scanSegment, segmentName, segmentNumber } from './event-log-segment';
import type { FileStore } from './file-store';
import { joinStorePath, normalizeStorePath } from './store-path';
import type { StoredEvent } from './stored-event';
import { prepareStoredEvent, type PreparedEvent } from './stored-event';

/** Options of `EventLog.open`. */
export interface EventLogOptions {
  /** Where the conversation's files live. */
  store: FileStore;
  /** The log's folder in the store (default `events`). */
  dir?: string;
  /** fsync every append before it resolves (default `true`). */
  fsync?: boolean;
  /** A new segment starts when the current one would grow past this (default 32 MiB). */
  segmentMaxBytes?: number;
  /** Told about recoverable damage, such as a torn last line cut off (default `console.warn`). */
  onWarning?: (message: string) => void;
  /**
   * Open for reading only: a torn last line is left out but not cut off (nothing is written,
   * nothing is reported), and appends are refused. Default `false`.
   */
  readOnly?: boolean;
}

/** Options of `EventLog.page`. */
export interface EventLogPage {
  /** Index of the first event (default 0). */
  start?: number;
  /** At most this many events (default: all the rest). */
  limit?: number;
}

interface Segment {
  name: string;
  number: number;
  /** Bytes of the segment that hold good events. */
  size: number;
  /** Index of the segment's first event in the log. */
  firstIndex: number;
}

/** The default `segmentMaxBytes`: 32 MiB. */
export const DEFAULT_SEGMENT_MAX_BYTES = 32 * 1024 * 1024;

/**
 * A conversation's durable, append-only event log: JSON Lines segments
 * (`events/segment-000001.jsonl`, ...) plus an in-memory index of every event.
 *
 * Opening checks every line. An append is one write and at most one fsync; it reaches the index
 * only once it is on disk, and appends run one at a time in call order. The log holds a JSON copy
 * of each appended event (exactly what a reopen would read back); treat the events it returns as
 * read-only.
 */
export class EventLog implements Iterable<StoredEvent>, AsyncDisposable {
  private readonly events: StoredEvent[] = [];
  private readonly ids = new Map<string, number>();
  private readonly segmentList: Segment[] = [];
  private totalBytes = 0;
  /** The last segment ends in a valid event without its newline; the next append adds it. */
  private unterminated = false;
  /** Where a failed append may have left partial bytes, to cut off before the next write. */
  private pendingRepair: { path: string; size: number } | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    private readonly store: FileStore,
    private readonly directory: string,
    private readonly fsync: boolean,
    private readonly segmentMaxBytes: number,
  ) {}

  /**
   * Loads the log in `dir` (a missing or empty folder is an empty log).
   *
   * A torn last line of the last segment, left by a crash mid-append, is cut off and reported
   * through `onWarning`. Any other bad line (invalid JSON, no valid envelope, a duplicate id)
   * throws `CorruptEventLogError` naming the segment and line, and nothing is written.
   */
  static async open(options: EventLogOptions): Promise<EventLog> {
    const segmentMaxBytes = options.segmentMaxBytes ?? DEFAULT_SEGMENT_MAX_BYTES;
    if (!Number.isSafeInteger(segmentMaxBytes) || segmentMaxBytes <= 0) {
      throw new FerryError(
        'INVALID_ARGUMENT',
        `segmentMaxBytes must be a positive integer, got ${String(segmentMaxBytes)}.`,
      );
    }
    const { store } = options;
    const log = new EventLog(
      store,
      normalizeStorePath(options.dir ?? 'events'),
      options.fsync ?? true,
      segmentMaxBytes,
    );
    const found = (await store.list(log.directory))
      .map((name) => ({ name, number: segmentNumber(name) }))
      .filter((entry): entry is { name: string; number: number } => entry.number !== undefined)
      .sort((left, right) => left.number - right.number);

    let torn: { path: string; size: number; line: number; reason: string } | undefined;
    for (const [position, { name, number }] of found.entries()) {
      const path = log.pathOf(name);
      const bytes = (await store.read(path)) ?? new Uint8Array(0);
      const segment: Segment = { name, number, size: 0, firstIndex: log.events.length };
      log.segmentList.push(segment);
      const scan = scanSegment({
        bytes,
        file: store.describe(path),
        allowTornLastLine: position === found.length - 1,
        events: log.events,
        ids: log.ids,
        locate: (index) => log.locate(index),
      });
      segment.size = scan.validBytes;
      log.totalBytes += scan.validBytes;
      log.unterminated = scan.unterminated;
      if (scan.torn !== undefined) torn = { path, size: scan.validBytes, ...scan.torn };
    }

    if (options.readOnly === true) {
      log.closed = true;
      return log;
    }
    // Only now that every line checked out may the log be changed.
    if (torn !== undefined) {
      await store.truncate(torn.path, torn.size, { fsync: log.fsync });
      (options.onWarning ?? console.warn)(
        `Cut off a torn last line of the event log (${store.describe(torn.path)}, line ` +
          `${torn.line}: ${torn.reason}), left by an append that did not finish. ` +
          `The log has ${log.events.length} events.`,
      );
    }
    return log;
  }

  /** The number of events. */
  get length(): number {
    return this.events.length;
  }

  /** The log's total size in bytes, over all segments. */
  get bytes(): number {
    return this.totalBytes;
  }

  /** The segment file names, oldest first; each lives at `<dir>/<name>` in the store. */
  get segments(): string[] {
    return this.segmentList.map((segment) => segment.name);
  }

  /** The log's folder in the store, normalised (`events`). */
  get dir(): string {
    return this.directory;
  }

  /** The event at `index`; a negative index counts from the end, as in `Array.prototype.at`. */
  at(index: number): StoredEvent | undefined {
    return this.events.at(index);
  }

  /** The event with this id. */
  get(id: string): StoredEvent | undefined {
    const index = this.ids.get(id);
    return index === undefined ? undefined : this.events[index];
  }

  /** The position of the event with this id, or -1. */
  indexOf(id: string): number {
    return this.ids.get(id) ?? -1;
  }

  /** Whether an event with this id is in the log. */
  has(id: string): boolean {
    return this.ids.has(id);
  }

  /** Up to `limit` events from index `start`. */
  page(options: EventLogPage = {}): StoredEvent[] {
    const start = Math.max(0, options.start ?? 0);
    const end = options.limit === undefined ? undefined : start + Math.max(0, options.limit);
    return this.events.slice(start, end);
  }

  /** The events from `start` to before `end`, as in `Array.prototype.slice`. */
  slice(start?: number, end?: number): StoredEvent[] {
    return this.events.slice(start, end);
  }

  /** The newest event. */
  last(): StoredEvent | undefined {
    return this.events.at(-1);
  }

  /** The events in order. */
  [Symbol.iterator](): IterableIterator<StoredEvent> {
    return this.events.values();
  }

  /** Appends one event durably; see `appendMany`. */
  append(event: StoredEvent): Promise<void> {
    return this.appendMany([event]);
  }

  /**
   * Appends events durably, in order, with one write and at most one fsync, after the appends
   * called before it. Rejects with `INVALID_EVENT_ENVELOPE` for an event without a valid envelope,
   * `DuplicateEventIdError` for an id already in the log (or twice in `events`),
   * `EVENT_LOG_WRITE_FAILED` (wrapping the cause) when the write fails, and `EVENT_LOG_CLOSED`
   * after `close()`. On rejection no event of the call was added.
   */
  appendMany(
    events: readonly StoredEvent[],
    options: {
      /**
       * Called when the append's turn comes, just before writing; throwing refuses the append
       * (nothing written). For conditions that tasks queued before it may change.
       */
      precondition?: () => void;
    } = {},
  ): Promise<void> {
    let prepared: PreparedEvent[];
    try {
      // Serialised now, so later changes to the caller's objects do not reach the log.
      prepared = events.map(prepareStoredEvent);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    return this.enqueue(() => {
      options.precondition?.();
      return this.write(prepared);
    });
  }

  /**
   * Runs `task` in the log's write queue: after the appends called before it, and before those
   * called after it, so no append lands while it runs.
   */
  exclusive<T>(task: () => Promise<T>): Promise<T> {
    let value!: T;
    return this.enqueue(async () => {
      value = await task();
    }).then(() => value);
  }

  /**
   * Waits for pending appends, cuts off what a failed one may have left, and refuses appends
   * from then on. Reading stays possible. Calling it again does nothing more.
   */
  close(): Promise<void> {
    return this.enqueue(async () => {
      if (this.closed) return;
      this.closed = true;
      await this.repair();
    });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  private async write(prepared: PreparedEvent[]): Promise<void> {
    if (this.closed) {
      throw new FerryError(
        'EVENT_LOG_CLOSED',
        `The event log at ${this.store.describe(this.directory)} is closed; open it again to append.`,
      );
    }
    const batch = new Set<string>();
    for (const { event } of prepared) {
      if (this.ids.has(event.id) || batch.has(event.id)) {
        throw new DuplicateEventIdError(event.id, this.store.describe(this.directory));
      }
      batch.add(event.id);
    }
    if (prepared.length === 0) return;
    await this.repair();

    const lines = Buffer.from(prepared.map(({ line }) => `${line}\n`).join(''), 'utf8');
    let segment = this.segmentList.at(-1);
    const rollOver =
      segment === undefined ||
      (segment.size > 0 && segment.size + lines.length > this.segmentMaxBytes);
    if (segment === undefined || rollOver) {
      const number = (segment?.number ?? 0) + 1;
      segment = { name: segmentName(number), number, size: 0, firstIndex: this.events.length };
    }
    // A last line without its newline gets one before the new lines.
    const data = !rollOver && this.unterminated ? Buffer.concat([Buffer.from('\n'), lines]) : lines;
    const path = this.pathOf(segment.name);
    try {
      await this.store.append(path, data, { fsync: this.fsync });
    } catch (error) {
      this.pendingRepair = { path, size: segment.size };
      throw writeFailed(this.store.describe(path), error);
    }

    if (rollOver) this.segmentList.push(segment);
    segment.size += data.length;
    this.totalBytes += data.length;
    this.unterminated = false;
    for (const { event } of prepared) {
      this.ids.set(event.id, this.events.length);
      this.events.push(event);
    }
  }

  /** Cuts a segment back to its last good size after a failed append. */
  private async repair(): Promise<void> {
    if (this.pendingRepair === undefined) return;
    const { path, size } = this.pendingRepair;
    try {
      const actual = await this.store.size(path);
      if (actual !== undefined && actual > size) {
        await this.store.truncate(path, size, { fsync: this.fsync });
      }
    } catch (error) {
      throw writeFailed(this.store.describe(path), error);
    }
    this.pendingRepair = undefined;
  }

  private enqueue(task: () => Promise<void>): Promise<void> {
    const result = this.queue.then(task);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private pathOf(name: string): string {
    return joinStorePath(this.directory, name);
  }

  /** `<segment> line <n>` of the event at `index`: every line before it is an event. */
  private locate(index: number): string {
    const segment = this.segmentList.findLast((candidate) => candidate.firstIndex <= index);
    if (segment === undefined) return `index ${index}`;
    return `${this.store.describe(this.pathOf(segment.name))} line ${index - segment.firstIndex + 1}`;
  }
}

function writeFailed(location: string, cause: unknown): FerryError {
  return new FerryError(
    'EVENT_LOG_WRITE_FAILED',
    `Could not append to the event log at ${location}: ${messageOf(cause)}. The events were not ` +
      'added; the next append first cuts off anything this one left behind.',
    { cause },
  );
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
