import { FerryError } from '../errors/index';
import { EVENT_LOG_INDEX_FILE, NumberList, idHash } from './event-log-index';
import {
  parseRange,
  positionsOfHash,
  rangeParts,
  type RangePart,
  type Segment,
} from './event-log-ranges';
import { readFileRange, type FileStore } from './file-store';
import { joinStorePath } from './store-path';
import type { StoredEvent } from './stored-event';

/** Options of `EventLog.page`. */
export interface EventLogPage {
  /** Index of the first event (default 0). */
  start?: number;
  /** At most this many events (default: all the rest). */
  limit?: number;
}

/**
 * The reading side of an `EventLog`: the events in memory (from `loadedFrom` on), the segment
 * table and id hashes of the whole log, and reads of the older events, checked as they are read.
 */
export abstract class EventLogReader implements Iterable<StoredEvent> {
  /** Events from position `base` on, in memory; older ones are read on demand. */
  protected events: StoredEvent[] = [];
  protected base = 0;
  protected ids = new Map<string, number>();
  /** `idHash` of every event's id, in log order (in memory or not). */
  protected hashes = new NumberList();
  protected segmentList: Segment[] = [];
  protected totalBytes = 0;
  /** The last segment ends in a valid event without its newline; the next append adds it. */
  protected unterminated = false;
  /** Events covered by `index.json` on disk (-1: no usable index there). */
  protected indexedEvents = -1;

  protected constructor(
    protected readonly store: FileStore,
    protected readonly directory: string,
  ) {}

  /** Positions before `base` whose id hash is that of `id`. */
  protected olderPositionsOf(id: string): number[] {
    return positionsOfHash(this.hashes, this.base, idHash(id));
  }

  /** The number of events. */
  get length(): number {
    return this.base + this.events.length;
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

  /** Position of the first event held in memory; events before it are read on demand. */
  get loadedFrom(): number {
    return this.base;
  }

  /**
   * The events from `start` to before `end` (default: the end), reading and checking the ones
   * not in memory. Those are not kept: reading history does not grow the log's memory.
   * @throws CorruptEventLogError naming the segment and line of a damaged line.
   */
  async read(start = 0, end = this.length): Promise<StoredEvent[]> {
    const from = Math.max(0, Math.min(start, this.length));
    const to = Math.max(from, Math.min(end, this.length));
    if (from >= this.base) return this.events.slice(from - this.base, to - this.base);
    const older = await this.readOlder(from, Math.min(to, this.base), (path, a, b) =>
      this.readBytes(path, a, b),
    );
    return to > this.base ? older.concat(this.events.slice(0, to - this.base)) : older;
  }

  /** The event at `index`; a negative index counts from the end, as in `Array.prototype.at`. */
  at(index: number): StoredEvent | undefined {
    const position = index < 0 ? this.length + index : index;
    if (position < 0 || position >= this.length) return undefined;
    if (position < this.base) this.loadAllSync();
    return this.events[position - this.base];
  }

  /** The event with this id. */
  get(id: string): StoredEvent | undefined {
    const index = this.indexOf(id);
    return index < 0 ? undefined : this.at(index);
  }

  /**
   * The position of the event with this id, or -1. An id older than the events in memory is
   * looked up by its hash: only the events with that hash are read (synchronously), not the
   * whole history.
   */
  indexOf(id: string): number {
    const position = this.ids.get(id);
    if (position !== undefined) return position;
    const candidates = this.olderPositionsOf(id);
    if (candidates.length === 0) return -1;
    const readSync = this.store.readRangeSync?.bind(this.store);
    if (readSync === undefined) {
      this.loadAllSync();
      return this.ids.get(id) ?? -1;
    }
    for (const candidate of candidates) {
      const [event] = this.readOlderSync(
        candidate,
        candidate + 1,
        (path, a, b) => readSync(path, a, b) ?? new Uint8Array(0),
      );
      if (event?.id === id) return candidate;
    }
    return -1;
  }

  /** Whether an event with this id is in the log. */
  has(id: string): boolean {
    return this.indexOf(id) >= 0;
  }

  /** Up to `limit` events from index `start`. */
  page(options: EventLogPage = {}): StoredEvent[] {
    const start = Math.max(0, options.start ?? 0);
    const end = options.limit === undefined ? undefined : start + Math.max(0, options.limit);
    return this.slice(start, end);
  }

  /** The events from `start` to before `end`, as in `Array.prototype.slice`. */
  slice(start?: number, end?: number): StoredEvent[] {
    const from = start === undefined ? 0 : start < 0 ? Math.max(0, this.length + start) : start;
    if (from < this.base) this.loadAllSync();
    const to = end === undefined ? undefined : end < 0 ? this.length + end : end;
    return this.events.slice(
      from - this.base,
      to === undefined ? undefined : Math.max(0, to - this.base),
    );
  }

  /** The newest event. */
  last(): StoredEvent | undefined {
    return this.at(-1);
  }

  /** The events in order. */
  [Symbol.iterator](): IterableIterator<StoredEvent> {
    this.loadAllSync();
    return this.events.values();
  }

  /**
   * Brings the whole history into memory, so the synchronous accessors can answer any index.
   * Reads synchronously when the store can (`FileStore.readRangeSync`); refuses otherwise.
   */
  protected loadAllSync(): void {
    if (this.base === 0) return;
    const readSync = this.store.readRangeSync?.bind(this.store);
    if (readSync === undefined) {
      throw new FerryError(
        'EVENT_LOG_NOT_LOADED',
        `The event log at ${this.store.describe(this.directory)} was opened lazily and its store ` +
          'cannot read synchronously; read older events with `read()`.',
      );
    }
    const older = this.readOlderSync(
      0,
      this.base,
      (path, a, b) => readSync(path, a, b) ?? new Uint8Array(0),
    );
    this.adopt(older);
  }

  /** Loads the whole history into memory. */
  async loadAll(): Promise<void> {
    if (this.base === 0) return;
    this.adopt(await this.read(0, this.base));
  }

  protected adopt(older: StoredEvent[]): void {
    if (this.base === 0) return;
    const ids = new Map<string, number>();
    for (const [position, event] of older.entries()) ids.set(event.id, position);
    for (const [id, position] of this.ids) ids.set(id, position);
    this.events = older.concat(this.events);
    this.ids = ids;
    this.base = 0;
  }

  protected readOlderSync(
    from: number,
    to: number,
    readBytes: (path: string, start: number, end: number) => Uint8Array,
  ): StoredEvent[] {
    const events: StoredEvent[] = [];
    for (const part of rangeParts(this.segmentList, from, to, (name) => this.pathOf(name))) {
      events.push(...this.parsePart(part, readBytes(part.path, part.start, part.end)));
    }
    return events;
  }

  protected async readOlder(
    from: number,
    to: number,
    readBytes: (path: string, start: number, end: number) => Promise<Uint8Array>,
  ): Promise<StoredEvent[]> {
    const events: StoredEvent[] = [];
    for (const part of rangeParts(this.segmentList, from, to, (name) => this.pathOf(name))) {
      events.push(...this.parsePart(part, await readBytes(part.path, part.start, part.end)));
    }
    return events;
  }

  protected parsePart(part: RangePart, bytes: Uint8Array): StoredEvent[] {
    try {
      return parseRange({
        part,
        bytes,
        file: this.store.describe(part.path),
        hashes: this.hashes,
        locate: (index) => this.locate(index),
      });
    } catch (error) {
      // An index that disagrees with its segments is dropped, so the next open rebuilds it.
      if (FerryError.isInstance(error) && error.code === 'EVENT_LOG_CHANGED') {
        void this.store.remove(this.pathOf(EVENT_LOG_INDEX_FILE)).catch(() => undefined);
      }
      throw error;
    }
  }

  protected readBytes(path: string, start: number, end: number): Promise<Uint8Array> {
    return readFileRange(this.store, path, start, end);
  }

  /** Events appended since `index.json` was last written or found current (all of them without one). */
  get unindexedEvents(): number {
    return this.length - Math.max(0, this.indexedEvents);
  }

  protected pathOf(name: string): string {
    return joinStorePath(this.directory, name);
  }

  /** The segment file and line number of the event at `index`: every line before it is an event. */
  protected where(index: number): { file: string; line: number } {
    const segment = this.segmentList.findLast((candidate) => candidate.firstIndex <= index);
    if (segment === undefined)
      return { file: this.store.describe(this.directory), line: index + 1 };
    return {
      file: this.store.describe(this.pathOf(segment.name)),
      line: index - segment.firstIndex + 1,
    };
  }

  /** `<segment> line <n>` of the event at `index`. */
  protected locate(index: number): string {
    const { file, line } = this.where(index);
    return `${file} line ${line}`;
  }
}
