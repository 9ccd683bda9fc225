import { describeConversationStoreConformance } from '../testing/conformance/store/index';
import { InMemoryConversationStore } from './in-memory-conversation-store';

// It holds parsed objects only, so there is no stored form to damage: no `corruptEvent`.
describeConversationStoreConformance({
  name: 'InMemoryConversationStore',
  createStore: () => Promise.resolve(new InMemoryConversationStore()),
  destroyStore: (store) => store.close(),
  openPeer: (store) => Promise.resolve(new InMemoryConversationStore({ sharedWith: store })),
});
