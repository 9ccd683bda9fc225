import { FerryError } from '../errors/ferry-error';
import { prepareStoredEvent, type StoredEvent } from '../persistence/stored-event';
import type { ConversationLease, ConversationStore } from '../store/conversation-store';
import {
  computeContextSnapshot,
  readContextSnapshot,
  writeContextSnapshot,
  type ContextSnapshot,
  type PlacedEvent,
} from './context-snapshot';

/** Read access to a conversation's events, in order, with lookup by id. */
export interface EventIndex extends Iterable<StoredEvent> {
  readonly length: number;
  /** The event at `index`; negative indexes count from the end. */
  at(index: number): StoredEvent | undefined;
  /** The event with this id. */
  get(id: string): StoredEvent | undefined;
  /** Position of the event with this id, or -1. */
  indexOf(id: string): number;
  has(id: string): boolean;
  /** Up to `limit` events from `start`. */
  page(options: { start?: number; limit?: number }): StoredEvent[];
  slice(start?: number, end?: number): StoredEvent[];
}

/** How {@link ConversationLog.load} found the live context. */
export type LiveContextSource =
  /**
   * The whole log was read: no snapshot and no condensation (the snapshot is written, so the next
   * resume reads nothing at open), or a store that reads only asynchronously.
   */
  | 'full-log'
  /**
   * The context snapshot agreed with the log: only the live context was read. A snapshot that
   * records no condensation leaves the whole log, the live context, to be read when first needed
   * (`loadedFrom` is then the log's length).
   */
  | 'snapshot'
  /**
   * The snapshot was missing, damaged or stale and the log has a condensation: the whole log was
   * read and the snapshot rewritten.
   */
  | 'rebuilt';

/**
 * An open conversation's events: the live context in memory (every event since the last
 * condensation, plus the older ones the LLM still sees), the rest of the history read from the
 * store when a reader asks for it, and appends written through the store under the
 * conversation's lease, one at a time in call order. An event reaches the log only once the
 * store has it; the log holds a JSON copy of each event (what a reopen would read back), so
 * treat the events it returns as read-only.
 */
export class ConversationLog implements EventIndex {
  /** Events from position `#base` on; older ones are read on demand (see `#loadHistory`). */
  #events: StoredEvent[];
  #base: number;
  readonly #ids = new Map<string, number>();
  /** Older events that belong to the live context, with their positions. */
  readonly #pinned: PlacedEvent[];
  /** Where the live context's contiguous part starts. */
  readonly #liveFrom: number;
  readonly #live: EventIndex;
  #queue: Promise<unknown> = Promise.resolve();

  /** The snapshot said "no condensation" and the log is not read yet: check when it is. */
  #uncondensedClaim: boolean;

  private constructor(
    private readonly store: ConversationStore,
    private readonly lease: ConversationLease,
    options: { events: StoredEvent[]; base: number; pinned: PlacedEvent[]; liveFrom?: number },
    readonly liveSource: LiveContextSource,
  ) {
    this.#events = options.events;
    this.#base = options.base;
    this.#pinned = options.pinned;
    this.#liveFrom = options.liveFrom ?? options.base;
    this.#uncondensedClaim = this.#liveFrom < this.#base;
    for (const [index, event] of this.#events.entries())
      this.#ids.set(event.id, this.#base + index);
    for (const { position, event } of this.#pinned) this.#ids.set(event.id, position);
    this.#live = liveView(this);
  }

  /**
   * Reads the conversation's live context from the store (the lease holder's view). With a
   * store that reads synchronously and a context snapshot that agrees with the log, that is the
   * events since the last condensation plus the pinned older ones, or nothing yet when the
   * snapshot records no condensation (the live context is then the whole log, read when first
   * needed); otherwise the whole log, and the snapshot is written again.
   */
  static async load(store: ConversationStore, lease: ConversationLease): Promise<ConversationLog> {
    const id = lease.conversationId;
    if (store.readEventsSync !== undefined) {
      const snapshot = await readContextSnapshot(store.files(id));
      if (snapshot === 'uncondensed') {
        const length = await store.eventCount(id);
        // Only if the events can be read synchronously when needed (asked of none: nothing read).
        if (store.readEventsSync(id, { from: length }) !== undefined) {
          return new ConversationLog(
            store,
            lease,
            { events: [], base: length, pinned: [], liveFrom: 0 },
            'snapshot',
          );
        }
      }
      const live = typeof snapshot === 'object' ? await readLive(store, id, snapshot) : undefined;
      if (live !== undefined) {
        return new ConversationLog(
          store,
          lease,
          { events: live.window, base: live.from, pinned: live.pinned },
          'snapshot',
        );
      }
      const events = await store.readEvents(id);
      const rebuilt = computeContextSnapshot(
        events.map((event, position) => ({ position, event })),
      );
      if (snapshot === undefined || rebuilt !== undefined) {
        await writeContextSnapshot(store.files(id), rebuilt ?? 'uncondensed');
      }
      const source = rebuilt === undefined ? 'full-log' : 'rebuilt';
      return new ConversationLog(store, lease, { events, base: 0, pinned: [] }, source);
    }
    const events = await store.readEvents(id);
    return new ConversationLog(store, lease, { events, base: 0, pinned: [] }, 'full-log');
  }

  /** The live context: what the next LLM request can need, ordered, growing with appends. */
  get live(): EventIndex {
    return this.#live;
  }

  /** Position of the first event that was read at open; older ones are read when asked for. */
  get loadedFrom(): number {
    return this.#base;
  }

  get length(): number {
    return this.#base + this.#events.length;
  }

  at(index: number): StoredEvent | undefined {
    const position = index < 0 ? this.length + index : index;
    if (position < 0 || position >= this.length) return undefined;
    if (position < this.#base) this.#loadHistory();
    return this.#events[position - this.#base];
  }

  get(id: string): StoredEvent | undefined {
    const index = this.indexOf(id);
    return index < 0 ? undefined : this.at(index);
  }

  indexOf(id: string): number {
    const known = this.#ids.get(id);
    if (known !== undefined) return known;
    if (this.#base === 0) return -1;
    // The store's index finds an older event without the whole history read.
    const found = this.store.findEventSync?.(this.lease.conversationId, id);
    if (found !== undefined) return found;
    this.#loadHistory();
    return this.#ids.get(id) ?? -1;
  }

  has(id: string): boolean {
    return this.indexOf(id) >= 0;
  }

  page(options: { start?: number; limit?: number } = {}): StoredEvent[] {
    const start = Math.max(0, options.start ?? 0);
    const end = options.limit === undefined ? undefined : start + Math.max(0, options.limit);
    return this.slice(start, end);
  }

  slice(start?: number, end?: number): StoredEvent[] {
    const from = start === undefined ? 0 : start < 0 ? Math.max(0, this.length + start) : start;
    if (from < this.#base && from < this.length) this.#loadHistory();
    const to = end === undefined ? this.length : end < 0 ? this.length + end : end;
    return this.#events.slice(from - this.#base, Math.max(0, to - this.#base));
  }

  [Symbol.iterator](): IterableIterator<StoredEvent> {
    this.#loadHistory();
    return this.#events.values();
  }

  /**
   * Events `start` to before `end` of the whole log, read from the store where they are not in
   * memory (and not kept: reading history does not grow the conversation's memory).
   */
  async read(start = 0, end = this.length): Promise<StoredEvent[]> {
    const from = Math.max(0, start);
    const to = Math.min(end, this.length);
    if (from >= to) return [];
    if (from >= this.#base) return this.#events.slice(from - this.#base, to - this.#base);
    const older = await this.store.readEvents(this.lease.conversationId, {
      from,
      limit: Math.min(to, this.#base) - from,
    });
    return to > this.#base ? older.concat(this.#events.slice(0, to - this.#base)) : older;
  }

  /**
   * Brings the events not read at open into memory, synchronously (see `load`): the history
   * before the live context, or the whole log when it never condensed.
   */
  #loadHistory(): void {
    if (this.#base === 0) return;
    const older = this.store.readEventsSync?.(this.lease.conversationId, {
      from: 0,
      limit: this.#base,
    });
    if (older === undefined || older.length !== this.#base) {
      const id = this.lease.conversationId;
      throw new FerryError(
        'EVENT_HISTORY_UNAVAILABLE',
        `The first ${this.#base} events of conversation ${id} were not read at open, and its ` +
          'store cannot read them synchronously now (the conversation is closed, or the store ' +
          'reads only asynchronously); read them with `store.readEvents`, or reopen it.',
      );
    }
    for (const [position, event] of older.entries()) this.#ids.set(event.id, position);
    this.#events = older.concat(this.#events);
    this.#base = 0;
    if (this.#uncondensedClaim) {
      this.#uncondensedClaim = false;
      // A condensation the snapshot does not know of (a crash before it was rewritten): the
      // whole log in memory is the live context all the same; the next resume should know.
      const snapshot = computeContextSnapshot(this.liveEntries());
      if (snapshot !== undefined) void this.exclusive(() => this.#writeSnapshot(snapshot));
    }
  }

  /** The live context with positions: pinned events, then everything from `#liveFrom`. */
  liveEntries(): PlacedEvent[] {
    if (this.#liveFrom < this.#base) this.#loadHistory();
    const entries = this.#pinned.slice();
    for (let position = this.#liveFrom; position < this.length; position += 1) {
      entries.push({ position, event: this.#events[position - this.#base] as StoredEvent });
    }
    return entries;
  }

  /** Number of pinned events (the live context's part before `#liveFrom`). */
  get pinnedCount(): number {
    return this.#pinned.length;
  }

  /** The live context's event at `index` (pinned first). */
  liveAt(index: number): StoredEvent | undefined {
    if (index < this.#pinned.length) return this.#pinned[index]?.event;
    if (this.#liveFrom < this.#base) this.#loadHistory();
    return this.#events[this.#liveFrom + index - this.#pinned.length - this.#base];
  }

  /** The live context's length. */
  get liveLength(): number {
    return this.#pinned.length + this.length - this.#liveFrom;
  }

  /**
   * Appends events through the store, after the appends called before it. `precondition` runs
   * when the append's turn comes; throwing refuses it (nothing written). On rejection
   * (`DuplicateEventIdError`, `LeaseLostError`, a write failure) no event of the call was added.
   * A condensation among them rewrites the context snapshot.
   */
  appendMany(
    events: readonly StoredEvent[],
    options: { precondition?: () => void } = {},
  ): Promise<void> {
    let prepared: StoredEvent[];
    try {
      // Serialised now, so later changes to the caller's objects do not reach the log.
      prepared = events.map((event) => prepareStoredEvent(event).event);
    } catch (error) {
      return Promise.reject(error instanceof Error ? error : new Error(String(error)));
    }
    return this.exclusive(async () => {
      options.precondition?.();
      if (prepared.length === 0) return;
      await this.store.appendEvents(this.lease, prepared);
      for (const event of prepared) {
        this.#ids.set(event.id, this.length);
        this.#events.push(event);
      }
      if (prepared.some((event) => event.kind === 'Condensation')) {
        const snapshot = computeContextSnapshot(this.liveEntries());
        if (snapshot !== undefined) await this.#writeSnapshot(snapshot);
      }
    });
  }

  async #writeSnapshot(snapshot: ContextSnapshot): Promise<void> {
    try {
      await writeContextSnapshot(this.store.files(this.lease.conversationId), snapshot);
    } catch {
      // The snapshot is only a shortcut: without it the next resume reads the whole log.
    }
  }

  /** Runs `task` in the write queue: no append lands while it runs. */
  exclusive<T>(task: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(task);
    this.#queue = result.catch(() => undefined);
    return result;
  }
}

/**
 * The live context and the window after the condensation, read as the snapshot says, or
 * `undefined` when the log disagrees with it (then the caller reads everything).
 */
/** Ranged reads of pinned events at once at resume. */
const PINNED_READS = 16;

async function readLive(
  store: ConversationStore,
  id: string,
  snapshot: ContextSnapshot,
): Promise<{ window: StoredEvent[]; from: number; pinned: PlacedEvent[] } | undefined> {
  const window = await store.readEvents(id, { from: snapshot.condensation.position });
  const first = window[0];
  if (first?.id !== snapshot.condensation.id || first.kind !== 'Condensation') return undefined;
  // Pinned events mostly come in runs (the kept head, the kept tail): one read per run, the
  // runs read at once (a long conversation has hundreds, each a small ranged read).
  const runs: { index: number; end: number }[] = [];
  for (let index = 0; index < snapshot.pinned.length;) {
    let end = index + 1;
    while (
      end < snapshot.pinned.length &&
      (snapshot.pinned[end]?.position ?? 0) === (snapshot.pinned[end - 1]?.position ?? 0) + 1
    ) {
      end += 1;
    }
    runs.push({ index, end });
    index = end;
  }
  const read: StoredEvent[][] = [];
  // At most PINNED_READS at once, so a log of thousands of runs stays far from the open-file limit.
  let next = 0;
  const reader = async () => {
    for (let run = next++; run < runs.length; run = next++) {
      const { index, end } = runs[run] as { index: number; end: number };
      const from = snapshot.pinned[index]?.position ?? 0;
      read[run] = await store.readEvents(id, { from, limit: end - index });
    }
  };
  await Promise.all(Array.from({ length: Math.min(PINNED_READS, runs.length) }, reader));
  const pinned: PlacedEvent[] = [];
  for (const [run, { index, end }] of runs.entries()) {
    const events = read[run] ?? [];
    for (let offset = 0; offset < end - index; offset += 1) {
      const expected = snapshot.pinned[index + offset];
      const event = events[offset];
      if (expected === undefined || event?.id !== expected.id) return undefined;
      pinned.push({ position: expected.position, event });
    }
  }
  return { window, from: snapshot.condensation.position, pinned };
}

/** The live context of `log` as an {@link EventIndex} (positions within the live context). */
function liveView(log: ConversationLog): EventIndex {
  const slice = (start?: number, end?: number): StoredEvent[] => {
    const length = log.liveLength;
    const from = start === undefined ? 0 : start < 0 ? Math.max(0, length + start) : start;
    const to = end === undefined ? length : end < 0 ? length + end : Math.min(end, length);
    const result: StoredEvent[] = [];
    for (let index = from; index < to; index += 1) result.push(log.liveAt(index) as StoredEvent);
    return result;
  };
  const indexOf = (id: string): number => {
    for (let index = log.liveLength - 1; index >= 0; index -= 1) {
      if (log.liveAt(index)?.id === id) return index;
    }
    return -1;
  };
  return {
    get length() {
      return log.liveLength;
    },
    at(index: number) {
      const position = index < 0 ? log.liveLength + index : index;
      return position < 0 ? undefined : log.liveAt(position);
    },
    get(id: string) {
      const index = indexOf(id);
      return index < 0 ? undefined : log.liveAt(index);
    },
    indexOf,
    has: (id: string) => indexOf(id) >= 0,
    page(options: { start?: number; limit?: number } = {}) {
      const start = Math.max(0, options.start ?? 0);
      return slice(start, options.limit === undefined ? undefined : start + options.limit);
    },
    slice,
    *[Symbol.iterator]() {
      for (let index = 0; index < log.liveLength; index += 1)
        yield log.liveAt(index) as StoredEvent;
    },
  };
}
