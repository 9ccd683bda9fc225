import type { AnyEvent } from '../event/parse-event';

/** Fans new events out to async iterators; each iterator gets every event from its start. */
export class EventStream {
  readonly #subscribers = new Set<{ queue: AnyEvent[]; wake?: (() => void) | undefined }>();
  #ended = false;

  push(event: AnyEvent): void {
    for (const subscriber of this.#subscribers) {
      subscriber.queue.push(event);
      subscriber.wake?.();
    }
  }

  end(): void {
    this.#ended = true;
    for (const subscriber of this.#subscribers) subscriber.wake?.();
  }

  subscribe(): AsyncIterator<AnyEvent> & AsyncIterable<AnyEvent> {
    const subscriber: { queue: AnyEvent[]; wake?: (() => void) | undefined } = { queue: [] };
    this.#subscribers.add(subscriber);
    const stop = (): IteratorReturnResult<undefined> => {
      this.#subscribers.delete(subscriber);
      return { done: true, value: undefined };
    };
    const iterator: AsyncIterator<AnyEvent> & AsyncIterable<AnyEvent> = {
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
