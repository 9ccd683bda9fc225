import { expect, it } from 'vitest';
import type { ConversationStore } from '../../../store/conversation-store';
import { newConversationId, stateDocument, storeGroup } from './support';
import type { ConversationStoreDamage, ConversationStoreInitializer } from './initializer';

/** State documents: read, write, replace, unicode, what creates a conversation. */
export function stateSpecs<S extends ConversationStore>(
  initializer: ConversationStoreInitializer<S> & ConversationStoreDamage<S>,
): void {
  storeGroup('state', initializer, ({ store }) => {
    it('has no state for a conversation never written', async () => {
      expect(await store().readState(newConversationId())).toBeUndefined();
    });

    it('reads back the state it wrote, and the newest after a replace', async () => {
      const id = newConversationId();
      const lease = await store().acquireLease(id);
      try {
        await store().writeState(lease, stateDocument(id, { title: 'first' }));
        expect(await store().readState(id)).toEqual(stateDocument(id, { title: 'first' }));
        const second = stateDocument(id, {
          title: 'second',
          tags: { a: 'b' },
          nested: [1, { x: null }],
        });
        await store().writeState(lease, second);
        expect(await store().readState(id)).toEqual(second);
      } finally {
        await store().releaseLease(lease);
      }
      expect(await store().readState(id)).toEqual(
        stateDocument(id, { title: 'second', tags: { a: 'b' }, nested: [1, { x: null }] }),
      );
    });

    it('keeps unicode and large documents exactly', async () => {
      const id = newConversationId();
      const title = 'Ünïcödé ✓ 🚀 𝔘 مرحبا שלום 中文 \u0000 \u2028 "quoted" \\ back';
      const big = 'x'.repeat(1024 * 1024);
      const lease = await store().acquireLease(id);
      try {
        await store().writeState(lease, stateDocument(id, { title, big }));
      } finally {
        await store().releaseLease(lease);
      }
      const read = await store().readState(id);
      expect(read?.title).toBe(title);
      expect(read?.big).toBe(big);
    });

    it('accepts ids with or without dashes, in any case, as the same conversation', async () => {
      const id = newConversationId();
      const lease = await store().acquireLease(id.toUpperCase());
      try {
        expect(lease.conversationId).toBe(id);
        await store().writeState(lease, stateDocument(id));
      } finally {
        await store().releaseLease(lease);
      }
      expect(await store().readState(id.replaceAll('-', ''))).toEqual(stateDocument(id));
    });

    it('refuses an id that is not a UUID', async () => {
      await expect(store().readState('../etc')).rejects.toMatchObject({
        code: 'INVALID_CONVERSATION_ID',
      });
      await expect(store().acquireLease('not-a-uuid')).rejects.toMatchObject({
        code: 'INVALID_CONVERSATION_ID',
      });
    });
  });
}
