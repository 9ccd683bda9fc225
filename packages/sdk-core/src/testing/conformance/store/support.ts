import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe } from 'vitest';
import type { StoredEvent } from '../../../persistence/stored-event';
import type { ConversationStore } from '../../../store/conversation-store';
import type { ConversationStoreDamage, ConversationStoreInitializer } from './initializer';

/** What every spec gets: the initializer and the store of its group. */
export interface SpecContext<S extends ConversationStore = ConversationStore> {
  initializer: ConversationStoreInitializer<S> & ConversationStoreDamage<S>;
  /** The group's store (created in `beforeAll`). */
  store: () => S;
  /** A second handle on the same data; closed after the group. */
  peer: () => Promise<ConversationStore>;
  timeout: number;
}

/** Registers a group of tests sharing one store (and the peers it opens). */
export function storeGroup<S extends ConversationStore>(
  title: string,
  initializer: ConversationStoreInitializer<S> & ConversationStoreDamage<S>,
  body: (context: SpecContext<S>) => void,
): void {
  const timeout = initializer.timeout ?? 60_000;
  describe(title, { timeout }, () => {
    let store: S | undefined;
    const peers: ConversationStore[] = [];
    beforeAll(async () => {
      store = await initializer.createStore();
    }, timeout);
    afterAll(async () => {
      for (const peer of peers) await peer.close();
      if (store !== undefined) await initializer.destroyStore(store);
    }, timeout);
    const current = (): S => {
      if (store === undefined) throw new Error('The store was not created.');
      return store;
    };
    body({
      initializer,
      store: current,
      peer: async () => {
        const peer = await initializer.openPeer(current());
        peers.push(peer);
        return peer;
      },
      timeout,
    });
  });
}

/** A fresh conversation id. */
export function newConversationId(): string {
  return randomUUID();
}

/** A valid stored event with a fresh id; `fields` are added to it. */
export function storedEvent(fields: Record<string, unknown> = {}): StoredEvent {
  return {
    id: randomUUID(),
    timestamp: new Date().toISOString(),
    source: 'user',
    kind: 'MessageEvent',
    llm_message: { role: 'user', content: [{ type: 'text', text: 'hello' }] },
    ...fields,
  };
}

/** `count` valid events numbered by an `n` field from `start`. */
export function numberedEvents(count: number, start = 0): StoredEvent[] {
  return Array.from({ length: count }, (_, index) => storedEvent({ n: start + index }));
}

/** A state document for conversation `id`. */
export function stateDocument(id: string, fields: Record<string, unknown> = {}) {
  return { id, execution_status: 'idle', title: null, ...fields };
}

/** Resolves with the rejection of `promise`, failing when it resolves. */
export async function rejectionOf(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to be refused, but it succeeded');
}

/** Polls `attempt` until it returns (retrying what it throws) or `timeoutMs` passes. */
export async function eventually<T>(attempt: () => T | Promise<T>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await attempt();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
}
