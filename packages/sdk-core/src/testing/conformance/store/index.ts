import { afterAll, beforeAll, describe } from 'vitest';
import type { ConversationStore } from '../../../store/conversation-store';
import { eventSpecs } from './events.spec';
import type { ConversationStoreDamage, ConversationStoreInitializer } from './initializer';
import { leaseSpecs } from './lease.spec';
import { lifecycleSpecs } from './lifecycle.spec';
import { stateSpecs } from './state.spec';
import { subscribeSpecs } from './subscribe.spec';

/** Options of {@link describeConversationStoreConformance}: an initializer plus damage hooks. */
export type ConversationStoreConformanceOptions<S extends ConversationStore = ConversationStore> =
  ConversationStoreInitializer<S> & ConversationStoreDamage<S>;

/**
 * Registers vitest tests every `ConversationStore` must pass: state documents, event order and
 * positions, a re-appended event id refused with `DuplicateEventIdError`, concurrent appends,
 * leases with fencing tokens (an old token's append and state write refused after a takeover,
 * changing nothing), expiry and takeover, subscriptions from a position with no gap and no
 * duplicate while appends race, listing, deletion, 1 MB events, unicode, and damaged data
 * reported with `CorruptEventLogError` naming where. Call it at the top level of a test file:
 *
 * ```ts
 * describeConversationStoreConformance({
 *   name: 'FileConversationStore',
 *   createStore: async () => new FileConversationStore({ root: await mkdtemp(...) }),
 *   destroyStore: async (store) => { await store.close(); await rm(store.root, { recursive: true }); },
 *   openPeer: async (store) => new FileConversationStore({ root: store.root }),
 *   corruptEvent: async (store, id, sequence) => { ... },
 * });
 * ```
 */
export function describeConversationStoreConformance<S extends ConversationStore>(
  options: ConversationStoreConformanceOptions<S>,
): void {
  describe(`ConversationStore conformance: ${options.name}`, () => {
    const timeout = options.timeout ?? 60_000;
    const { beforeAll: setup, afterAll: teardown } = options;
    if (setup !== undefined) beforeAll(setup, timeout);
    if (teardown !== undefined) afterAll(teardown, timeout);
    stateSpecs(options);
    eventSpecs(options);
    leaseSpecs(options);
    subscribeSpecs(options);
    lifecycleSpecs(options);
  });
}
