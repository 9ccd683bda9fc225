import { expect, it } from 'vitest';
import type { StoredEvent } from '../../../persistence/stored-event';
import type { ConversationStore, EventBatch } from '../../../store/conversation-store';
import type { ConversationStoreDamage, ConversationStoreInitializer } from './initializer';
import {
  eventually,
  newConversationId,
  numberedEvents,
  stateDocument,
  storeGroup,
} from './support';

/** Collects what a subscription delivers, checking sequence numbers as they arrive. */
function collector() {
  const events: StoredEvent[] = [];
  const problems: string[] = [];
  let expected: number | undefined;
  return {
    events,
    problems,
    onEvents: (batch: EventBatch): void => {
      if (batch.events.length === 0) problems.push('an empty batch');
      if (expected !== undefined && batch.from !== expected) {
        problems.push(`batch from ${batch.from}, expected ${expected}`);
      }
      expected = batch.from + batch.events.length;
      events.push(...batch.events);
    },
  };
}

/** Subscriptions: from a position, live, no gap and no duplicate while appends race. */
export function subscribeSpecs<S extends ConversationStore>(
  initializer: ConversationStoreInitializer<S> & ConversationStoreDamage<S>,
): void {
  storeGroup('subscriptions', initializer, ({ store, peer, timeout }) => {
    async function started(id: string) {
      const lease = await store().acquireLease(id);
      await store().writeState(lease, stateDocument(id));
      return lease;
    }

    it('delivers the log from a position, then new events, in order', async () => {
      const id = newConversationId();
      const lease = await started(id);
      const events = numberedEvents(8);
      try {
        await store().appendEvents(lease, events.slice(0, 5));
        const seen = collector();
        const subscription = await store().subscribe(id, { from: 2, onEvents: seen.onEvents });
        try {
          await store().appendEvents(lease, events.slice(5));
          await eventually(() => expect(seen.events).toHaveLength(6), timeout / 2);
          expect(seen.events).toEqual(events.slice(2));
          expect(seen.problems).toEqual([]);
        } finally {
          await subscription.close();
        }
        // Nothing after close.
        const lateCount = seen.events.length;
        await store().appendEvents(lease, numberedEvents(2, 100));
        await store().readEvents(id);
        expect(seen.events).toHaveLength(lateCount);
      } finally {
        await store().releaseLease(lease);
      }
    });

    it('subscribes to a conversation before it has events', async () => {
      const id = newConversationId();
      const seen = collector();
      const subscription = await store().subscribe(id, { from: 0, onEvents: seen.onEvents });
      const lease = await started(id);
      try {
        const events = numberedEvents(3);
        await store().appendEvents(lease, events);
        await eventually(() => expect(seen.events).toEqual(events), timeout / 2);
      } finally {
        await subscription.close();
        await store().releaseLease(lease);
      }
    });

    it('misses and doubles nothing while appends race the subscription', async () => {
      const id = newConversationId();
      const lease = await started(id);
      const total = 200;
      const events = numberedEvents(total);
      try {
        await store().appendEvents(lease, events.slice(0, 20));
        const subscribers = [collector(), collector(), collector()];
        const appending = (async () => {
          for (let index = 20; index < total; index += 5) {
            await store().appendEvents(lease, events.slice(index, index + 5));
          }
        })();
        const subscriptions = await Promise.all(
          subscribers.map((seen, index) =>
            store().subscribe(id, { from: index * 7, onEvents: seen.onEvents }),
          ),
        );
        await appending;
        try {
          for (const [index, seen] of subscribers.entries()) {
            await eventually(
              () => expect(seen.events).toHaveLength(total - index * 7),
              timeout / 2,
            );
            expect(seen.events).toEqual(events.slice(index * 7));
            expect(seen.problems).toEqual([]);
          }
        } finally {
          for (const subscription of subscriptions) await subscription.close();
        }
      } finally {
        await store().releaseLease(lease);
      }
    });

    it("sees a peer's appends", async () => {
      const id = newConversationId();
      const other = await peer();
      const lease = await other.acquireLease(id);
      const seen = collector();
      const subscription = await store().subscribe(id, { from: 0, onEvents: seen.onEvents });
      try {
        await other.writeState(lease, stateDocument(id));
        const events = numberedEvents(30);
        for (let index = 0; index < events.length; index += 3) {
          await other.appendEvents(lease, events.slice(index, index + 3));
        }
        await eventually(() => expect(seen.events).toHaveLength(30), timeout / 2);
        expect(seen.events).toEqual(events);
        expect(seen.problems).toEqual([]);
      } finally {
        await subscription.close();
        await other.releaseLease(lease);
      }
    });

    it('is told once when a peer deletes the conversation', async () => {
      const id = newConversationId();
      const other = await peer();
      const lease = await other.acquireLease(id);
      const seen = collector();
      const deletions: { events: number; replaced: boolean }[] = [];
      const subscription = await store().subscribe(id, {
        from: 0,
        onEvents: seen.onEvents,
        onDeleted: ({ replaced }) => {
          deletions.push({ events: seen.events.length, replaced });
        },
      });
      try {
        await other.writeState(lease, stateDocument(id));
        const events = numberedEvents(4);
        await other.appendEvents(lease, events);
        await eventually(() => expect(seen.events).toEqual(events), timeout / 2);
        expect(await other.deleteConversation(id, lease)).toBe(true);
        // Once, and after the events it had.
        const gone = { events: 4, replaced: false };
        await eventually(() => expect(deletions).toEqual([gone]), timeout / 2);
        // Deleting what is no longer there tells nobody.
        expect(await other.deleteConversation(id)).toBe(false);
        await store().readEvents(id);
        expect(deletions).toEqual([gone]);

        // Replaced (deleted to be written again): said so, and the new log comes from 0.
        const again = await other.acquireLease(id);
        await other.writeState(again, stateDocument(id));
        await other.appendEvents(again, events.slice(0, 1));
        await eventually(() => expect(seen.events).toHaveLength(5), timeout / 2);
        expect(await other.deleteConversation(id, again, { replacing: true })).toBe(true);
        const fresh = await other.acquireLease(id);
        await other.writeState(fresh, stateDocument(id));
        const replacement = numberedEvents(2, 50);
        await other.appendEvents(fresh, replacement);
        await eventually(() => expect(seen.events).toHaveLength(7), timeout / 2);
        expect(deletions).toEqual([gone, { events: 5, replaced: true }]);
        expect(seen.events.slice(5)).toEqual(replacement);
        await other.releaseLease(fresh);
      } finally {
        await subscription.close();
      }
    });
  });
}
