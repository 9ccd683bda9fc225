import type { BashEvent, BashEventPage, BashEventSearchQuery } from './bash-event';

/** Bounds of a {@link BashEventStore}; the oldest events go first when one is exceeded. */
export interface BashEventStoreOptions {
  /** Events kept at most. */
  maxEvents: number;
  /** Characters of command text and output kept at most, over all events. */
  maxTextLength: number;
}

interface StoredEvent {
  /** Position in recording order; the opaque `page_id` of searches. */
  sequence: number;
  textLength: number;
  event: BashEvent;
}

/**
 * The bash events of one server, in memory, in the order they were recorded. Bounded: the
 * newest event is always kept, older ones are dropped past either bound.
 */
export class BashEventStore {
  readonly #options: BashEventStoreOptions;
  readonly #events: StoredEvent[] = [];
  readonly #byId = new Map<string, StoredEvent>();
  readonly #listeners = new Set<(event: BashEvent) => void>();
  #textLength = 0;
  #nextSequence = 0;

  constructor(options: BashEventStoreOptions) {
    this.#options = options;
  }

  get size(): number {
    return this.#events.length;
  }

  add(event: BashEvent): void {
    const stored = { sequence: this.#nextSequence++, textLength: textLength(event), event };
    this.#events.push(stored);
    this.#byId.set(event.id, stored);
    this.#textLength += stored.textLength;
    while (
      this.#events.length > 1 &&
      (this.#events.length > this.#options.maxEvents ||
        this.#textLength > this.#options.maxTextLength)
    ) {
      const oldest = this.#events.shift();
      if (oldest === undefined) break;
      this.#byId.delete(oldest.event.id);
      this.#textLength -= oldest.textLength;
    }
    for (const listener of this.#listeners) listener(event);
  }

  /** Calls `listener` with every event added from now on; returns the function that stops it. */
  onAdd(listener: (event: BashEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** The events kept, oldest first. */
  all(): BashEvent[] {
    return this.#events.map((stored) => stored.event);
  }

  get(id: string): BashEvent | undefined {
    return this.#byId.get(id)?.event;
  }

  /** Filters, sorts and pages as OpenHands' `bash_events/search` does. */
  search(query: BashEventSearchQuery): BashEventPage {
    const descending = query.sort_order === 'TIMESTAMP_DESC';
    const matching = this.#events.filter(({ event }) => matches(event, query));
    if (descending) matching.reverse();
    const from = query.page_id === undefined ? undefined : Number(query.page_id);
    const start =
      from === undefined
        ? 0
        : matching.findIndex(({ sequence }) => (descending ? sequence <= from : sequence >= from));
    const first = start === -1 ? matching.length : start;
    const page = matching.slice(first, first + query.limit);
    const next = matching[first + query.limit];
    return {
      items: page.map(({ event }) => event),
      next_page_id: next === undefined ? null : String(next.sequence),
    };
  }

  /** Forgets every event and answers how many there were. */
  clear(): number {
    const count = this.#events.length;
    this.#events.length = 0;
    this.#byId.clear();
    this.#textLength = 0;
    return count;
  }
}

function matches(event: BashEvent, query: BashEventSearchQuery): boolean {
  if (query.kind__eq !== undefined && event.kind !== query.kind__eq) return false;
  if (query.command_id__eq !== undefined) {
    if (event.kind !== 'BashOutput' || event.command_id !== query.command_id__eq) return false;
  }
  const timestamp = Date.parse(event.timestamp);
  if (query.timestamp__gte !== undefined && timestamp < query.timestamp__gte) return false;
  if (query.timestamp__lt !== undefined && timestamp >= query.timestamp__lt) return false;
  if (query.order__gt !== undefined && event.kind === 'BashOutput') {
    if (event.order <= query.order__gt) return false;
  }
  return true;
}

function textLength(event: BashEvent): number {
  switch (event.kind) {
    case 'BashCommand':
      return event.command.length;
    case 'BashOutput':
      return (event.stdout?.length ?? 0) + (event.stderr?.length ?? 0);
  }
}
