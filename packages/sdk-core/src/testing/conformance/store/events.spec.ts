import { expect, it } from 'vitest';
import { DuplicateEventIdError } from '../../../errors/duplicate-event-id-error';
import { FerryError } from '../../../errors/ferry-error';
import type { StoredEvent } from '../../../persistence/stored-event';
import type { ConversationStore } from '../../../store/conversation-store';
import type { ConversationStoreDamage, ConversationStoreInitializer } from './initializer';
import {
  newConversationId,
  numberedEvents,
  rejectionOf,
  stateDocument,
  storedEvent,
  storeGroup,
} from './support';

/** Event logs: order, positions, idempotent re-append refused, concurrency, size, unicode. */
export function eventSpecs<S extends ConversationStore>(
  initializer: ConversationStoreInitializer<S> & ConversationStoreDamage<S>,
): void {
  storeGroup('events', initializer, ({ store }) => {
    async function withLease<T>(
      id: string,
      body: (lease: Awaited<ReturnType<ConversationStore['acquireLease']>>) => Promise<T>,
    ): Promise<T> {
      const lease = await store().acquireLease(id);
      try {
        await store().writeState(lease, stateDocument(id));
        return await body(lease);
      } finally {
        await store().releaseLease(lease);
      }
    }

    it('has no events for an unknown conversation', async () => {
      const id = newConversationId();
      expect(await store().readEvents(id)).toEqual([]);
      expect(await store().eventCount(id)).toBe(0);
    });

    it('appends in order with 0-based sequence numbers and reads from any position', async () => {
      const id = newConversationId();
      const events = numberedEvents(10);
      await withLease(id, async (lease) => {
        expect(await store().appendEvents(lease, events.slice(0, 3))).toEqual({ from: 0, next: 3 });
        expect(await store().appendEvents(lease, events.slice(3, 4))).toEqual({ from: 3, next: 4 });
        expect(await store().appendEvents(lease, events.slice(4))).toEqual({ from: 4, next: 10 });
        expect(await store().appendEvents(lease, [])).toEqual({ from: 10, next: 10 });
      });
      expect(await store().readEvents(id)).toEqual(events);
      expect(await store().readEvents(id, { from: 4 })).toEqual(events.slice(4));
      expect(await store().readEvents(id, { from: 2, limit: 3 })).toEqual(events.slice(2, 5));
      expect(await store().readEvents(id, { from: 10 })).toEqual([]);
      expect(await store().readEvents(id, { from: 99 })).toEqual([]);
      expect(await store().readEvents(id, { limit: 0 })).toEqual([]);
      expect(await store().eventCount(id)).toBe(10);
    });

    it('answers readEventsSync (where it has it) exactly as readEvents, for the lease holder', async () => {
      const readSync = store().readEventsSync?.bind(store());
      if (readSync === undefined) return;
      const id = newConversationId();
      const events = numberedEvents(6);
      await withLease(id, async (lease) => {
        await store().appendEvents(lease, events);
        const answer = readSync(id, { from: 2, limit: 3 });
        // `undefined` means "cannot answer synchronously now"; an answer must be the right one.
        if (answer !== undefined) expect(answer).toEqual(events.slice(2, 5));
        const all = readSync(id);
        if (all !== undefined) expect(all).toEqual(await store().readEvents(id));
      });
    });

    it('refuses to append an event id again, with a typed error, writing nothing', async () => {
      const id = newConversationId();
      const events = numberedEvents(3);
      await withLease(id, async (lease) => {
        await store().appendEvents(lease, events);
        const again = await rejectionOf(
          store().appendEvents(lease, [storedEvent({ n: 3 }), { ...events[1]! }]),
        );
        expect(DuplicateEventIdError.isInstance(again)).toBe(true);
        expect((again as DuplicateEventIdError).id).toBe(events[1]!.id);
        const twice = storedEvent();
        const inBatch = await rejectionOf(store().appendEvents(lease, [twice, twice]));
        expect(DuplicateEventIdError.isInstance(inBatch)).toBe(true);
        // The log goes on at the next position.
        expect(await store().appendEvents(lease, [twice])).toEqual({ from: 3, next: 4 });
      });
      const stored = await store().readEvents(id);
      expect(stored.map((event) => event.id)).toEqual([...events.map((e) => e.id), stored[3]!.id]);
    });

    it('refuses an event without the envelope, writing nothing', async () => {
      const id = newConversationId();
      await withLease(id, async (lease) => {
        const bad = { id: '', kind: 'MessageEvent', timestamp: new Date().toISOString() };
        const error = await rejectionOf(store().appendEvents(lease, [storedEvent(), bad]));
        expect(FerryError.isInstance(error) && error.code).toBe('INVALID_EVENT_ENVELOPE');
      });
      expect(await store().eventCount(id)).toBe(0);
    });

    it('keeps each appended batch whole and in one piece under concurrent appends', async () => {
      const id = newConversationId();
      const batches = Array.from({ length: 20 }, (_, batch) =>
        numberedEvents(1 + (batch % 4), batch * 10),
      );
      const results = await withLease(id, (lease) =>
        Promise.all(batches.map((events) => store().appendEvents(lease, events))),
      );
      const stored = await store().readEvents(id);
      const total = batches.reduce((sum, events) => sum + events.length, 0);
      expect(stored).toHaveLength(total);
      for (const [index, result] of results.entries()) {
        const batch = batches[index]!;
        expect(result.next - result.from).toBe(batch.length);
        expect(stored.slice(result.from, result.next)).toEqual(batch);
      }
      const froms = results.map((result) => result.from).sort((a, b) => a - b);
      expect(new Set(froms).size).toBe(batches.length);
    });

    it('stores a 1 MB event and unicode text exactly', async () => {
      const id = newConversationId();
      const large = storedEvent({ blob: 'é'.repeat(512 * 1024) });
      const text = 'Ünïcödé ✓ 🚀 𝔘 مرحبا שלום 中文 \u2028\u2029 tab\t nul\u0000 "q" \\';
      const unicode = storedEvent({ text, [`clé ✓`]: 'valeur' });
      await withLease(id, async (lease) => {
        await store().appendEvents(lease, [large, unicode]);
      });
      const [readLarge, readUnicode] = await store().readEvents(id);
      expect(readLarge).toEqual(large);
      expect(Buffer.byteLength(JSON.stringify(readLarge))).toBeGreaterThan(1024 * 1024);
      expect(readUnicode).toEqual(unicode);
      expect((readUnicode as StoredEvent).text).toBe(text);
    });

    it('returns copies: changing an appended or read event changes nothing stored', async () => {
      const id = newConversationId();
      const event = storedEvent({ n: 1 });
      await withLease(id, async (lease) => {
        await store().appendEvents(lease, [event]);
      });
      event.n = 2;
      const [read] = await store().readEvents(id);
      expect(read?.n).toBe(1);
    });

    it('keeps the log across handles: a peer reads what this one wrote', async () => {
      const id = newConversationId();
      const events = numberedEvents(5);
      await withLease(id, async (lease) => {
        await store().appendEvents(lease, events);
      });
      const peer = await initializer.openPeer(store());
      try {
        expect(await peer.readEvents(id)).toEqual(events);
        expect(await peer.readState(id)).toEqual(stateDocument(id));
      } finally {
        await peer.close();
      }
    });
  });
}
