export type {
  AcquireLeaseOptions,
  AppendResult,
  ConversationLease,
  ConversationStore,
  DeleteConversationOptions,
  EventBatch,
  ReadEventsOptions,
  RenewLeaseOptions,
  StoredState,
  StoreSubscription,
  SubscribeOptions,
} from './conversation-store';
export { canonicalConversationId, conversationFolderName } from './conversation-id';
export { FileConversationStore } from './file-conversation-store';
export type { FileConversationStoreOptions } from './file-conversation-store';
export { InMemoryConversationStore } from './in-memory-conversation-store';
export type { InMemoryConversationStoreOptions } from './in-memory-conversation-store';
export { SubscriptionHub } from './subscription-hub';
export type { ReadFrom } from './subscription-hub';
export { isConversationStore } from './is-conversation-store';
