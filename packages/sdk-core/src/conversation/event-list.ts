import { z } from 'zod';
import { InvalidEventError } from '../errors/invalid-event-error';
import { parseEvent, type AnyEvent } from '../event/parse-event';
import type { StoredEvent } from '../persistence/stored-event';
import type { EventIndex } from './conversation-log';

/**
 * The conversation's events, in order: iterable, indexable (`events[i]`, `events.at(-1)`), with
 * O(1) lookup by id. Events are parsed into typed documents on first access and cached.
 */
export interface EventList extends Iterable<AnyEvent> {
  readonly [index: number]: AnyEvent | undefined;
  readonly length: number;
  /** The event at `index`; negative indexes count from the end. */
  at(index: number): AnyEvent | undefined;
  /** The event with this id. */
  get(id: string): AnyEvent | undefined;
  /** Position of the event with this id, or -1. */
  indexOf(id: string): number;
  has(id: string): boolean;
  /** Up to `limit` events from `start`. */
  page(options: { start?: number; limit: number }): AnyEvent[];
  slice(start?: number, end?: number): AnyEvent[];
  /**
   * The events as stored, untyped (for bundles and exports): all of them, or those from `start`
   * to before `end` as in `slice` (only those are read when not in memory).
   */
  raw(start?: number, end?: number): readonly StoredEvent[];
}

const parsed = new WeakMap<StoredEvent, AnyEvent>();

function typed(stored: StoredEvent | undefined): AnyEvent | undefined {
  if (stored === undefined) return undefined;
  let event = parsed.get(stored);
  if (event === undefined) {
    try {
      event = parseEvent(stored);
    } catch (error) {
      const reason = error instanceof z.ZodError ? z.prettifyError(error) : String(error);
      throw new InvalidEventError(stored.id, stored.kind, reason, { cause: error });
    }
    parsed.set(stored, event);
  }
  return event;
}

class EventListView {
  constructor(readonly log: EventIndex) {}

  get length(): number {
    return this.log.length;
  }
  at(index: number): AnyEvent | undefined {
    return typed(this.log.at(index));
  }
  get(id: string): AnyEvent | undefined {
    return typed(this.log.get(id));
  }
  indexOf(id: string): number {
    return this.log.indexOf(id);
  }
  has(id: string): boolean {
    return this.log.has(id);
  }
  page(options: { start?: number; limit: number }): AnyEvent[] {
    return this.log.page(options).map((stored) => typed(stored) as AnyEvent);
  }
  slice(start?: number, end?: number): AnyEvent[] {
    return this.log.slice(start, end).map((stored) => typed(stored) as AnyEvent);
  }
  raw(start?: number, end?: number): readonly StoredEvent[] {
    return this.log.slice(start, end);
  }
  *[Symbol.iterator](): Iterator<AnyEvent> {
    for (const stored of this.log) yield typed(stored) as AnyEvent;
  }
}

const INDEX = /^(0|[1-9]\d*)$/;

/** Wraps an event log in the {@link EventList} view (a Proxy adds `events[i]`). */
export function createEventList(log: EventIndex): EventList {
  return new Proxy(new EventListView(log), {
    get(target, property, receiver) {
      if (typeof property === 'string' && INDEX.test(property)) return target.at(Number(property));
      return Reflect.get(target, property, receiver) as unknown;
    },
    has(target, property) {
      if (typeof property === 'string' && INDEX.test(property))
        return Number(property) < target.length;
      return Reflect.has(target, property);
    },
  }) as unknown as EventList;
}
