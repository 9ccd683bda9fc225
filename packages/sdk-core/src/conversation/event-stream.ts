import type { AnyEvent } from '../event/parse-event';

interface Subscriber {
  queue: AnyEvent[];
  wake: (() => void) | undefined;
}

/**
 * Fans new events out to async iterators; each gets every event pushed after it started.
 * Used by conversations (local and remote) for `for await (const event of conversation)`.
 */
export class EventStream {
  readonly #subscribers = new Set<Subscriber>();
  #ended = false;

  push(event: AnyEvent): void {
    for (const subscriber of this.#subscribers) {
      subscriber.queue.push(event);
      subscriber.wake?.();
    }
  }

  /** Ends every iterator once it has drained its queue. */
  end(): void {
    this.#ended = true;
    for (const subscriber of this.#subscribers) subscriber.wake?.();
  }

  subscribe(): AsyncIterableIterator<AnyEvent> {
    const subscriber: Subscriber = { queue: [], wake: undefined };
    this.#subscribers.add(subscriber);
    const stop = (): IteratorReturnResult<undefined> => {
      this.#subscribers.delete(subscriber);
      return { done: true, value: undefined };
    };
    const iterator: AsyncIterableIterator<AnyEvent> = {
      next: async () => {
        while (subscriber.queue.length === 0) {
          if (this.#ended) return stop();
          await new Promise<void>((resolve) => (subscriber.wake = resolve));
          subscriber.wake = undefined;
        }
        return { done: false, value: subscriber.queue.shift() as AnyEvent };
      },
      return: () => Promise.resolve(stop()),
      [Symbol.asyncIterator]: () => iterator,
    };
    return iterator;
  }
}
