import { expect, it } from 'vitest';
import { ConversationLockedError } from '../../../errors/conversation-locked-error';
import { LeaseLostError } from '../../../errors/lease-lost-error';
import type { ConversationStore } from '../../../store/conversation-store';
import type { ConversationStoreDamage, ConversationStoreInitializer } from './initializer';
import {
  eventually,
  newConversationId,
  numberedEvents,
  rejectionOf,
  stateDocument,
  storedEvent,
  storeGroup,
} from './support';

/** Leases: exclusivity, fencing tokens, renewal, expiry and takeover, fenced writes. */
export function leaseSpecs<S extends ConversationStore>(
  initializer: ConversationStoreInitializer<S> & ConversationStoreDamage<S>,
): void {
  storeGroup('leases', initializer, ({ store, peer }) => {
    it('gives one owner at a time, in this handle and in a peer', async () => {
      const id = newConversationId();
      const lease = await store().acquireLease(id);
      try {
        expect(lease.conversationId).toBe(id);
        expect(Number.isSafeInteger(lease.token) && lease.token > 0).toBe(true);
        expect(lease.owner.pid).toBe(process.pid);
        expect(
          ConversationLockedError.isInstance(await rejectionOf(store().acquireLease(id))),
        ).toBe(true);
        const other = await peer();
        expect(ConversationLockedError.isInstance(await rejectionOf(other.acquireLease(id)))).toBe(
          true,
        );
      } finally {
        await store().releaseLease(lease);
      }
    });

    it('yields a larger token on every new acquire', async () => {
      const id = newConversationId();
      const tokens: number[] = [];
      for (const handle of [store(), await peer(), store()]) {
        const lease = await handle.acquireLease(id);
        tokens.push(lease.token);
        await handle.writeState(lease, stateDocument(id));
        await handle.releaseLease(lease);
      }
      expect(tokens[1]).toBeGreaterThan(tokens[0]!);
      expect(tokens[2]).toBeGreaterThan(tokens[1]!);
    });

    it('leaves nothing behind for a lease released without a write', async () => {
      const id = newConversationId();
      const lease = await store().acquireLease(id);
      await store().releaseLease(lease);
      expect(await store().readState(id)).toBeUndefined();
      expect(await store().list()).not.toContain(id);
      // Releasing twice is not an error, and the conversation can be taken again.
      await store().releaseLease(lease);
      const again = await store().acquireLease(id);
      await store().releaseLease(again);
    });

    it('refuses writes with a released lease, changing nothing', async () => {
      const id = newConversationId();
      const lease = await store().acquireLease(id);
      await store().writeState(lease, stateDocument(id, { title: 'kept' }));
      await store().appendEvents(lease, numberedEvents(2));
      await store().releaseLease(lease);
      const append = await rejectionOf(store().appendEvents(lease, [storedEvent()]));
      expect(LeaseLostError.isInstance(append)).toBe(true);
      const write = await rejectionOf(store().writeState(lease, stateDocument(id, { title: 'x' })));
      expect(LeaseLostError.isInstance(write)).toBe(true);
      expect(LeaseLostError.isInstance(await rejectionOf(store().renewLease(lease)))).toBe(true);
      expect((await store().readState(id))?.title).toBe('kept');
      expect(await store().eventCount(id)).toBe(2);
    });

    it('renews a lease with the same token and a later expiry', async () => {
      const id = newConversationId();
      const lease = await store().acquireLease(id, { ttlMs: 60_000 });
      try {
        expect(lease.expiresAt).toBeDefined();
        const renewed = await store().renewLease(lease, { ttlMs: 120_000 });
        expect(renewed.token).toBe(lease.token);
        expect(Date.parse(renewed.expiresAt!)).toBeGreaterThan(Date.parse(lease.expiresAt!));
        await store().writeState(renewed, stateDocument(id));
      } finally {
        await store().releaseLease(lease);
      }
    });

    it('lets a peer take over an expired lease and fences the old owner out', async () => {
      const id = newConversationId();
      const old = await store().acquireLease(id, { ttlMs: 300 });
      await store().writeState(old, stateDocument(id, { title: 'before' }));
      const before = numberedEvents(3);
      await store().appendEvents(old, before);

      const other = await peer();
      const taken = await eventually(() => other.acquireLease(id, { ttlMs: 60_000 }), 20_000);
      try {
        expect(taken.token).toBeGreaterThan(old.token);
        const append = await rejectionOf(store().appendEvents(old, [storedEvent()]));
        expect(LeaseLostError.isInstance(append)).toBe(true);
        expect((append as LeaseLostError).currentToken).toBe(taken.token);
        const write = await rejectionOf(
          store().writeState(old, stateDocument(id, { title: 'stale' })),
        );
        expect(LeaseLostError.isInstance(write)).toBe(true);
        expect(LeaseLostError.isInstance(await rejectionOf(store().renewLease(old)))).toBe(true);
        // The old owner's release does not free the new owner's lease.
        await store().releaseLease(old);
        expect(
          ConversationLockedError.isInstance(await rejectionOf(store().acquireLease(id))),
        ).toBe(true);
        // Nothing the old owner tried landed; the new owner continues the log.
        expect((await other.readState(id))?.title).toBe('before');
        expect(await other.readEvents(id)).toEqual(before);
        expect(await other.appendEvents(taken, numberedEvents(1))).toEqual({ from: 3, next: 4 });
        await other.writeState(taken, stateDocument(id, { title: 'after' }));
        expect((await store().readState(id))?.title).toBe('after');
      } finally {
        await other.releaseLease(taken);
      }
    });

    it('lets the same handle take over its own expired lease', async () => {
      const id = newConversationId();
      const old = await store().acquireLease(id, { ttlMs: 200 });
      const taken = await eventually(() => store().acquireLease(id), 20_000);
      try {
        expect(taken.token).toBeGreaterThan(old.token);
        expect(
          LeaseLostError.isInstance(await rejectionOf(store().appendEvents(old, [storedEvent()]))),
        ).toBe(true);
        await store().writeState(taken, stateDocument(id));
      } finally {
        await store().releaseLease(taken);
      }
    });

    it('refuses a lease of one conversation for another', async () => {
      const id = newConversationId();
      const lease = await store().acquireLease(id);
      try {
        const other = newConversationId();
        const forged = { ...lease, conversationId: other };
        expect(
          LeaseLostError.isInstance(
            await rejectionOf(store().appendEvents(forged, [storedEvent()])),
          ),
        ).toBe(true);
        expect(await store().eventCount(other)).toBe(0);
      } finally {
        await store().releaseLease(lease);
      }
    });
  });
}
