import { InvalidEventError, parseEvent } from '@ferry/sdk-core';
import type { AnyEvent, EventList, StoredEvent } from '@ferry/sdk-core';
import { z } from 'zod';

const INDEX = /^(0|[1-9]\d*)$/;

/**
 * The events of a remote conversation received so far, in the server's log order, each once:
 * an {@link EventList} like `LocalConversation.events`. Events are parsed on first access.
 */
export class RemoteEventList {
  readonly #stored: StoredEvent[] = [];
  readonly #index = new Map<string, number>();
  readonly #parsed = new Map<number, AnyEvent>();
  /** The `EventList` view (`events[i]` works through a Proxy). */
  readonly view: EventList;

  constructor() {
    const stored = this.#stored;
    const view = {
      get length() {
        return stored.length;
      },
      at: (index: number) => this.at(index),
      get: (id: string) => this.get(id),
      indexOf: (id: string) => this.indexOf(id),
      has: (id: string) => this.has(id),
      page: ({ start = 0, limit }: { start?: number; limit: number }) =>
        this.slice(start, start + limit),
      slice: (start?: number, end?: number) => this.slice(start, end),
      raw: () => this.raw(),
      [Symbol.iterator]: () => this.iterate(),
    };
    this.view = new Proxy(view, {
      get: (target, property, receiver) => {
        if (typeof property === 'string' && INDEX.test(property)) return this.at(Number(property));
        return Reflect.get(target, property, receiver) as unknown;
      },
      has: (target, property) => {
        if (typeof property === 'string' && INDEX.test(property)) {
          return Number(property) < stored.length;
        }
        return Reflect.has(target, property);
      },
    });
  }

  get length(): number {
    return this.#stored.length;
  }

  /** The id of the newest event, the cursor to resume from. */
  get lastId(): string | undefined {
    return this.#stored.at(-1)?.id;
  }

  /** Appends `event` unless one with its id is already here; true when it was appended. */
  add(event: StoredEvent): boolean {
    if (this.#index.has(event.id)) return false;
    this.#index.set(event.id, this.#stored.length);
    this.#stored.push(event);
    return true;
  }

  at(index: number): AnyEvent | undefined {
    const position = index < 0 ? this.#stored.length + index : index;
    if (position < 0 || position >= this.#stored.length) return undefined;
    return this.#typed(position);
  }

  get(id: string): AnyEvent | undefined {
    const position = this.#index.get(id);
    return position === undefined ? undefined : this.#typed(position);
  }

  indexOf(id: string): number {
    return this.#index.get(id) ?? -1;
  }

  has(id: string): boolean {
    return this.#index.has(id);
  }

  slice(start?: number, end?: number): AnyEvent[] {
    const length = this.#stored.length;
    const bound = (value: number) =>
      value < 0 ? Math.max(0, length + value) : Math.min(value, length);
    const events: AnyEvent[] = [];
    for (let position = bound(start ?? 0); position < bound(end ?? length); position += 1) {
      events.push(this.#typed(position));
    }
    return events;
  }

  raw(start?: number, end?: number): readonly StoredEvent[] {
    return this.#stored.slice(start, end);
  }

  *iterate(): Generator<AnyEvent> {
    for (let position = 0; position < this.#stored.length; position += 1) {
      yield this.#typed(position);
    }
  }

  #typed(position: number): AnyEvent {
    let event = this.#parsed.get(position);
    if (event === undefined) {
      const stored = this.#stored[position] as StoredEvent;
      try {
        event = parseEvent(stored);
      } catch (error) {
        const reason = error instanceof z.ZodError ? z.prettifyError(error) : String(error);
        throw new InvalidEventError(stored.id, stored.kind, reason, { cause: error });
      }
      this.#parsed.set(position, event);
    }
    return event;
  }
}
