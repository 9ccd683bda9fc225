import { prepareStoredEvent, type StoredEvent } from '../persistence/stored-event';
import type { ConversationLease, ConversationStore } from '../store/conversation-store';

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

/**
 * An open conversation's events: the whole log in memory (read at open) plus appends written
 * through the store under the conversation's lease, one at a time in call order. An event
 * reaches the index only once the store has it; the index holds a JSON copy of each event (what
 * a reopen would read back), so treat the events it returns as read-only.
 */
export class ConversationLog implements EventIndex {
  readonly #events: StoredEvent[];
  readonly #ids = new Map<string, number>();
  #queue: Promise<unknown> = Promise.resolve();

  private constructor(
    private readonly store: ConversationStore,
    private readonly lease: ConversationLease,
    events: StoredEvent[],
  ) {
    this.#events = events;
    for (const [index, event] of events.entries()) this.#ids.set(event.id, index);
  }

  /** Reads the conversation's log from the store (the lease holder's view). */
  static async load(store: ConversationStore, lease: ConversationLease): Promise<ConversationLog> {
    const events = await store.readEvents(lease.conversationId);
    return new ConversationLog(store, lease, events);
  }

  get length(): number {
    return this.#events.length;
  }

  at(index: number): StoredEvent | undefined {
    return this.#events.at(index);
  }

  get(id: string): StoredEvent | undefined {
    const index = this.#ids.get(id);
    return index === undefined ? undefined : this.#events[index];
  }

  indexOf(id: string): number {
    return this.#ids.get(id) ?? -1;
  }

  has(id: string): boolean {
    return this.#ids.has(id);
  }

  page(options: { start?: number; limit?: number } = {}): StoredEvent[] {
    const start = Math.max(0, options.start ?? 0);
    const end = options.limit === undefined ? undefined : start + Math.max(0, options.limit);
    return this.#events.slice(start, end);
  }

  slice(start?: number, end?: number): StoredEvent[] {
    return this.#events.slice(start, end);
  }

  [Symbol.iterator](): IterableIterator<StoredEvent> {
    return this.#events.values();
  }

  /**
   * Appends events through the store, after the appends called before it. `precondition` runs
   * when the append's turn comes; throwing refuses it (nothing written). On rejection
   * (`DuplicateEventIdError`, `LeaseLostError`, a write failure) no event of the call was added.
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
        this.#ids.set(event.id, this.#events.length);
        this.#events.push(event);
      }
    });
  }

  /** Runs `task` in the write queue: no append lands while it runs. */
  exclusive<T>(task: () => Promise<T>): Promise<T> {
    const result = this.#queue.then(task);
    this.#queue = result.catch(() => undefined);
    return result;
  }
}
