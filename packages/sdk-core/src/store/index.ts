export type {
  AcquireLeaseOptions,
  AppendResult,
  ConversationLease,
  ConversationStore,
  EventBatch,
  ReadEventsOptions,
  RenewLeaseOptions,
  StoredState,
  StoreSubscription,
  SubscribeOptions,
} from './conversation-store';
export { canonicalConversationId, conversationFolderName } from './conversation-id';
