import type { StoredEvent } from '../persistence/stored-event';
import type { EventBatch, StoreSubscription, SubscribeOptions } from './conversation-store';

/** Reads a conversation's events from a sequence number on (the store's `readEvents`). */
export type ReadFrom = (from: number) => Promise<readonly StoredEvent[]>;

interface Listener {
  batch(batch: EventBatch): void;
  deleted(replaced: boolean): void;
}

/**
 * Delivers appended events to subscribers without a gap or a duplicate: a subscriber is
 * registered before it catches up from the store, tracks the next sequence number it owes, skips
 * what it already delivered, and reads from the store again whenever an announcement starts past
 * that number. Shared by the stores that announce appends within one process.
 */
export class SubscriptionHub {
  readonly #listeners = new Map<string, Set<Listener>>();

  /** Tells the conversation's subscribers about events that are now durably stored. */
  announce(batch: EventBatch): void {
    if (batch.events.length === 0) return;
    for (const listener of this.#listeners.get(batch.conversationId) ?? []) listener.batch(batch);
  }

  /** Tells the conversation's subscribers that it was deleted (after what they are owed). */
  announceDeleted(conversationId: string, replaced: boolean): void {
    for (const listener of this.#listeners.get(conversationId) ?? []) listener.deleted(replaced);
  }

  /** Subscribes (see `ConversationStore.subscribe`); `read` fills in what announcements lack. */
  subscribe(
    conversationId: string,
    options: SubscribeOptions,
    read: ReadFrom,
  ): Promise<StoreSubscription> {
    let next = Math.max(0, options.from);
    let closed = false;
    let queue: Promise<void> = Promise.resolve();
    const onError =
      options.onError ??
      ((error: unknown) => console.warn(`[ferry] a store subscription failed: ${String(error)}`));
    const deliver = async (from: number, events: readonly StoredEvent[]): Promise<void> => {
      if (closed || events.length === 0) return;
      next = from + events.length;
      await options.onEvents({ conversationId, from, events });
    };
    const catchUp = async (): Promise<void> => {
      const from = next;
      await deliver(from, await read(from));
    };
    const schedule = (task: () => Promise<void>): void => {
      queue = queue.then(task).catch((error: unknown) => {
        if (!closed) onError(error);
      });
    };
    const listener: Listener = {
      batch: (batch) =>
        schedule(async () => {
          const end = batch.from + batch.events.length;
          if (end <= next) return;
          if (batch.from > next) return catchUp();
          return deliver(next, batch.events.slice(next - batch.from));
        }),
      deleted: (replaced) =>
        schedule(async () => {
          // A conversation created again under the id starts its log from 0.
          next = 0;
          if (!closed) await options.onDeleted?.({ replaced });
        }),
    };

    let listeners = this.#listeners.get(conversationId);
    if (listeners === undefined) {
      listeners = new Set();
      this.#listeners.set(conversationId, listeners);
    }
    listeners.add(listener);
    schedule(catchUp);
    const subscription: StoreSubscription = {
      close: async () => {
        if (closed) return;
        closed = true;
        const set = this.#listeners.get(conversationId);
        set?.delete(listener);
        if (set?.size === 0) this.#listeners.delete(conversationId);
        await queue;
      },
    };
    return Promise.resolve(subscription);
  }
}
