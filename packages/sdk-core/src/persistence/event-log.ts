import { createHash } from 'node:crypto';
import { CorruptEventLogError, DuplicateEventIdError, FerryError } from '../errors/index';
import {
  EVENT_LOG_INDEX_FILE,
  decodeEventLogIndex,
  encodeEventLogIndex,
  idHash,
  NumberList,
} from './event-log-index';
import { indexFits, type Segment, type Torn } from './event-log-ranges';
import { scanSegment, segmentName, segmentNumber } from './event-log-segment';
import type { FileStore } from './file-store';
import { LocalFileStore } from './local-file-store';
import { normalizeStorePath } from './store-path';
import { EventLogReader } from './event-log-reader';
import type { ScannedLog } from './scanned-log';
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
  /**
   * Open without reading the history when `<dir>/index.json` agrees with the segments: only the
   * lines appended since the index was written are read and checked (a torn last line is cut off
   * as usual); older events are read, and checked, when asked for (`read`, or the synchronous
   * accessors when the store can read synchronously). Without a usable index every line is read
   * and checked, and the index is rebuilt. Default `false`: every line is read at open.
   */
  lazy?: boolean;
  /**
   * What this process found reading these very segments a moment ago (an import that checked
   * every line it wrote; see `takeScannedLog`): adopted instead of parsing them again when the
   * segments on disk are exactly those it was made from (same names, and each one's file
   * unchanged since it was written, or else the same size and SHA-256), ignored otherwise.
   */
  scanned?: ScannedLog | undefined;
}

/** The default `segmentMaxBytes`: 32 MiB. */
export type { EventLogPage } from './event-log-reader';

export const DEFAULT_SEGMENT_MAX_BYTES = 32 * 1024 * 1024;

/**
 * A conversation's durable, append-only event log: JSON Lines segments
 * (`events/segment-000001.jsonl`, ...) plus an index of every event (`events/index.json`: where
 * each line starts and a hash of each id, rebuilt whenever it is missing or disagrees).
 *
 * Opening checks every line, or with `lazy` only the lines the index does not cover yet; older
 * events are then read and checked on demand. An append is one write and at most one fsync; it
 * reaches the log only once it is on disk, and appends run one at a time in call order. The log
 * holds a JSON copy of each appended event (exactly what a reopen would read back); treat the
 * events it returns as read-only.
 */
export class EventLog extends EventLogReader implements AsyncDisposable {
  /** Where a failed append may have left partial bytes, to cut off before the next write. */
  private pendingRepair: { path: string; size: number } | undefined;
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;

  private constructor(
    store: FileStore,
    directory: string,
    private readonly fsync: boolean,
    private readonly segmentMaxBytes: number,
  ) {
    super(store, directory);
  }

  /**
   * Loads the log in `dir` (a missing or empty folder is an empty log).
   *
   * A torn last line of the last segment, left by a crash mid-append, is cut off and reported
   * through `onWarning`. Any other bad line (invalid JSON, no valid envelope, a duplicate id)
   * throws `CorruptEventLogError` naming the segment and line, and nothing is written. With
   * `lazy`, lines the index covers are checked when first read instead.
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

    const adopted = options.scanned !== undefined && (await log.adoptScan(found, options.scanned));
    const torn = adopted
      ? undefined
      : (options.lazy === true ? await log.openFromIndex(found) : false) === false
        ? await log.scanAll(found)
        : log.tornTail;

    if (options.readOnly === true) {
      log.closed = true;
      return log;
    }
    // Only now that every line read checked out may the log be changed.
    if (torn !== undefined) {
      await store.truncate(torn.path, torn.size, { fsync: log.fsync });
      (options.onWarning ?? console.warn)(
        `Cut off a torn last line of the event log (${store.describe(torn.path)}, line ` +
          `${torn.line}: ${torn.reason}), left by an append that did not finish. ` +
          `The log has ${log.length} events.`,
      );
    }
    return log;
  }

  private tornTail: Torn | undefined;

  /**
   * Takes `scanned` as what a full scan would find, if the segments on disk are exactly those it
   * was made from (names in order; each unchanged since it was written, or with the same size and
   * SHA-256); `false` otherwise.
   */
  private async adoptScan(
    found: readonly { name: string; number: number }[],
    scanned: ScannedLog,
  ): Promise<boolean> {
    if (found.length !== scanned.segments.length) return false;
    for (const [position, entry] of found.entries()) {
      const segment = scanned.segments[position] as Segment;
      if (segment.name !== entry.name) return false;
      const version = scanned.versions?.[position];
      if (
        version !== undefined &&
        this.store instanceof LocalFileStore &&
        (await this.store.version(this.pathOf(entry.name))) === version
      ) {
        continue;
      }
      const bytes = await this.store.read(this.pathOf(entry.name));
      if (bytes === undefined || bytes.length !== segment.size) return false;
      const digest = createHash('sha256').update(bytes).digest('hex');
      if (digest !== scanned.digests[position]) return false;
    }
    // A scan that kept no events leaves them on disk, as an open from the index does.
    this.events = scanned.events ?? [];
    this.base = scanned.events === undefined ? scanned.count : 0;
    this.ids = scanned.events === undefined ? new Map<string, number>() : scanned.ids;
    this.hashes = scanned.hashes;
    this.segmentList = scanned.segments;
    this.totalBytes = scanned.segments.reduce((sum, segment) => sum + segment.size, 0);
    this.unterminated = scanned.unterminated;
    this.indexedEvents = -1;
    return true;
  }

  /** Reads and checks every line of `found`; returns the torn last line, if any. */
  private async scanAll(
    found: readonly { name: string; number: number }[],
  ): Promise<Torn | undefined> {
    const segments: { name: string; number: number; bytes: Uint8Array }[] = [];
    for (const { name, number } of found) {
      segments.push({
        name,
        number,
        bytes: (await this.store.read(this.pathOf(name))) ?? new Uint8Array(0),
      });
    }
    return this.scanSegments(segments);
  }

  private scanSegments(
    segments: readonly { name: string; number: number; bytes: Uint8Array }[],
  ): Torn | undefined {
    this.events = [];
    this.base = 0;
    this.ids = new Map();
    this.hashes = new NumberList();
    this.segmentList = [];
    this.totalBytes = 0;
    this.indexedEvents = -1;
    let torn: Torn | undefined;
    for (const [position, { name, number, bytes }] of segments.entries()) {
      const path = this.pathOf(name);
      const segment: Segment = {
        name,
        number,
        size: 0,
        firstIndex: this.length,
        offsets: new NumberList(),
      };
      this.segmentList.push(segment);
      const scan = scanSegment({
        bytes,
        file: this.store.describe(path),
        allowTornLastLine: position === segments.length - 1,
        events: this.events,
        ids: this.ids,
        locate: (index) => this.locate(index),
        offsets: segment.offsets,
        hashes: this.hashes,
      });
      segment.size = scan.validBytes;
      this.totalBytes += scan.validBytes;
      this.unterminated = scan.unterminated;
      if (scan.torn !== undefined) torn = { path, size: scan.validBytes, ...scan.torn };
    }
    return torn;
  }

  /**
   * Opens from `index.json` when it agrees with the segments on disk: nothing before the
   * indexed end is read; what was appended since is read and checked. `false` when the index is
   * missing or does not fit (the caller then scans everything).
   */
  private async openFromIndex(
    found: readonly { name: string; number: number }[],
  ): Promise<boolean> {
    const text = await this.store.readText(this.pathOf(EVENT_LOG_INDEX_FILE));
    const index = text === undefined ? undefined : decodeEventLogIndex(text);
    if (index === undefined || index.segments.length > found.length) return false;
    const sizes: number[] = [];
    for (const entry of found) sizes.push((await this.store.size(this.pathOf(entry.name))) ?? 0);
    if (!indexFits(index.segments, found, sizes)) return false;
    let firstIndex = 0;
    for (const [position, indexed] of index.segments.entries()) {
      const entry = found[position] as { name: string; number: number };
      this.segmentList.push({
        name: entry.name,
        number: entry.number,
        size: indexed.size,
        firstIndex,
        offsets: new NumberList(indexed.offsets),
      });
      firstIndex += indexed.offsets.length;
      this.totalBytes += indexed.size;
    }
    this.hashes = new NumberList(index.hashes);
    this.base = this.hashes.length;
    this.indexedEvents = this.base;
    // What was appended since the index was written: read and checked like a full open.
    for (let position = 0; position < found.length; position += 1) {
      const entry = found[position] as { name: string; number: number };
      let segment = this.segmentList[position];
      const from = segment?.size ?? 0;
      const size = sizes[position] ?? 0;
      if (segment === undefined) {
        segment = {
          name: entry.name,
          number: entry.number,
          size: 0,
          firstIndex: this.length,
          offsets: new NumberList(),
        };
        this.segmentList.push(segment);
      }
      if (size === from) continue;
      const path = this.pathOf(entry.name);
      const bytes = await this.readBytes(path, from, size);
      const scan = scanSegment({
        bytes,
        file: this.store.describe(path),
        allowTornLastLine: position === found.length - 1,
        events: this.events,
        ids: this.ids,
        locate: (at) => this.locate(at),
        firstLine: segment.offsets.length + 1,
        startOffset: from,
        offsets: segment.offsets,
        hashes: this.hashes,
        firstPosition: this.base,
      });
      segment.size = from + scan.validBytes;
      this.totalBytes += scan.validBytes;
      this.unterminated = scan.unterminated;
      if (scan.torn !== undefined) {
        this.tornTail = { path, size: segment.size, ...scan.torn };
      }
    }
    // A new line whose id hash matches an older one may repeat it: read that one to be sure.
    for (const [id, at] of this.ids) {
      const older = this.olderPositionsOf(id);
      for (const candidate of older) {
        const event = (await this.read(candidate, candidate + 1))[0];
        if (event?.id === id) {
          const { file, line } = this.where(at);
          throw new CorruptEventLogError(
            file,
            line,
            `duplicate event id "${id}", first seen at ${this.locate(candidate)}`,
          );
        }
      }
    }
    return true;
  }

  /**
   * Writes `index.json` for what the log holds now (without fsync: it is rebuilt when lost). Does
   * nothing while the last line lacks its newline or a failed append awaits repair, or when the
   * index on disk is already current.
   */
  writeIndex(): Promise<void> {
    return this.enqueue(async () => {
      if (this.unterminated || this.pendingRepair !== undefined) return;
      if (this.indexedEvents === this.length) return;
      const text = encodeEventLogIndex({
        segments: this.segmentList.map(({ name, size, offsets }) => ({
          name,
          size,
          offsets: offsets.view(),
        })),
        hashes: this.hashes.view(),
      });
      await this.store.writeAtomic(this.pathOf(EVENT_LOG_INDEX_FILE), text);
      this.indexedEvents = this.length;
    });
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
      if (this.ids.has(event.id) || batch.has(event.id) || (await this.inOlderHistory(event.id))) {
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
      segment = {
        name: segmentName(number),
        number,
        size: 0,
        firstIndex: this.length,
        offsets: new NumberList(),
      };
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
    let offset = segment.size + data.length - lines.length;
    for (const { event, line } of prepared) {
      segment.offsets.push(offset);
      offset += Buffer.byteLength(line, 'utf8') + 1;
      this.hashes.push(idHash(event.id));
      this.ids.set(event.id, this.length);
      this.events.push(event);
    }
    segment.size += data.length;
    this.totalBytes += data.length;
    this.unterminated = false;
  }

  /** Whether an event older than those in memory has this id (read from disk to be sure). */
  private async inOlderHistory(id: string): Promise<boolean> {
    for (const position of this.olderPositionsOf(id)) {
      if ((await this.read(position, position + 1))[0]?.id === id) return true;
    }
    return false;
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
