import { expect, it } from 'vitest';
import { ConversationLockedError } from '../../../errors/conversation-locked-error';
import { CorruptEventLogError } from '../../../errors/corrupt-event-log-error';
import { LeaseLostError } from '../../../errors/lease-lost-error';
import type { ConversationStore } from '../../../store/conversation-store';
import type { ConversationStoreDamage, ConversationStoreInitializer } from './initializer';
import {
  newConversationId,
  numberedEvents,
  rejectionOf,
  stateDocument,
  storeGroup,
} from './support';

/** Listing, deletion and damaged data. */
export function lifecycleSpecs<S extends ConversationStore>(
  initializer: ConversationStoreInitializer<S> & ConversationStoreDamage<S>,
): void {
  storeGroup('listing, deletion and damage', initializer, ({ store, peer }) => {
    async function createConversation(id: string, events = 3): Promise<void> {
      const lease = await store().acquireLease(id);
      try {
        await store().writeState(lease, stateDocument(id));
        await store().appendEvents(lease, numberedEvents(events));
        await store().files(id).writeAtomic('TASKS.json', '[]\n');
      } finally {
        await store().releaseLease(lease);
      }
    }

    it('lists the conversations that have a state, sorted', async () => {
      const ids = [newConversationId(), newConversationId(), newConversationId()];
      for (const id of ids) await createConversation(id);
      const listed = await store().list();
      for (const id of ids) expect(listed).toContain(id);
      expect([...listed].sort()).toEqual(listed);
      expect(await (await peer()).list()).toEqual(expect.arrayContaining(ids));
    });

    it('deletes a conversation with its events, side files and lease', async () => {
      const id = newConversationId();
      await createConversation(id);
      expect(await store().deleteConversation(id)).toBe(true);
      expect(await store().readState(id)).toBeUndefined();
      expect(await store().readEvents(id)).toEqual([]);
      expect(await store().files(id).exists('TASKS.json')).toBe(false);
      expect(await store().list()).not.toContain(id);
      expect(await store().deleteConversation(id)).toBe(false);
      // The id can start over.
      await createConversation(id, 1);
      expect(await store().eventCount(id)).toBe(1);
    });

    it('deletes with its own lease, and refuses while another owner holds one', async () => {
      const id = newConversationId();
      await createConversation(id);
      const other = await peer();
      const held = await other.acquireLease(id);
      try {
        const refused = await rejectionOf(store().deleteConversation(id));
        expect(ConversationLockedError.isInstance(refused)).toBe(true);
        expect(await store().eventCount(id)).toBe(3);
        expect(await other.deleteConversation(id, held)).toBe(true);
      } finally {
        await other.releaseLease(held);
      }
      expect(await store().readState(id)).toBeUndefined();
    });

    it('refuses a deletion with a lost lease', async () => {
      const id = newConversationId();
      await createConversation(id);
      const lease = await store().acquireLease(id);
      await store().releaseLease(lease);
      expect(
        LeaseLostError.isInstance(await rejectionOf(store().deleteConversation(id, lease))),
      ).toBe(true);
      expect(await store().eventCount(id)).toBe(3);
    });

    it.skipIf(initializer.corruptEvent === undefined)(
      'reports a damaged event with a typed error naming where',
      async () => {
        const id = newConversationId();
        await createConversation(id, 5);
        await initializer.corruptEvent?.(store(), id, 2);
        const error = await rejectionOf(store().readEvents(id));
        expect(CorruptEventLogError.isInstance(error)).toBe(true);
        const corrupt = error as CorruptEventLogError;
        expect(corrupt.file.length).toBeGreaterThan(0);
        expect(corrupt.line).toBeGreaterThan(0);
        // Opening it for writing is refused the same way, and nothing is changed.
        const other = await peer();
        const again = await rejectionOf(
          (async () => {
            const lease = await other.acquireLease(id);
            try {
              await other.readEvents(id);
            } finally {
              await other.releaseLease(lease);
            }
          })(),
        );
        expect(CorruptEventLogError.isInstance(again)).toBe(true);
        expect(await store().readState(id)).toEqual(stateDocument(id));
      },
    );

    it.skipIf(initializer.tearLastEvent === undefined)(
      'skips a torn last event and the next owner continues the log',
      async () => {
        const id = newConversationId();
        await createConversation(id, 4);
        await initializer.tearLastEvent?.(store(), id);
        const survivors = await store().readEvents(id);
        expect(survivors).toHaveLength(3);
        const warnings: string[] = [];
        const lease = await store().acquireLease(id, { onWarning: (m) => warnings.push(m) });
        try {
          expect(await store().appendEvents(lease, numberedEvents(1))).toEqual({
            from: 3,
            next: 4,
          });
        } finally {
          await store().releaseLease(lease);
        }
        expect(warnings.join('\n')).toMatch(/torn/);
        expect(await store().readEvents(id, { limit: 3 })).toEqual(survivors);
      },
    );
  });
}
