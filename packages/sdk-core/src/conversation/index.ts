export {
  alwaysConfirmSchema,
  confirmationPolicySchema,
  confirmRiskySchema,
  neverConfirmSchema,
} from './confirmation-policy';
export type { ConfirmationPolicy, ConfirmationPolicyInput } from './confirmation-policy';
export { CONTEXT_SNAPSHOT_FILE } from './context-snapshot';
export { createEventList } from './event-list';
export { EventStream } from './event-stream';
export type { EventList } from './event-list';
export { BASE_STATE_FILE, LocalConversation } from './local-conversation';
export type {
  ConversationWorkspace,
  EventListener,
  ForkOptions,
  LocalConversationOptions,
  OpenReport,
  TeleportHop,
} from './local-conversation';
export { INTERRUPTED_RUN_ERROR, answersForUnansweredActions } from './recover-interrupted-run';
export {
  conversationStateSchema,
  executionStatusSchema,
  secretRegistrySchema,
  secretSourceSchema,
  teleportInfoSchema,
} from './state-schema';
export type {
  ConversationState,
  ExecutionStatus,
  SecretRegistry,
  SecretSource,
  TeleportInfo,
} from './state-schema';
export { addUsage, conversationStatsSchema, metricsSchema, tokenUsageSchema } from './stats';
export type { ConversationStats, Metrics, TokenUsage, UsageRecord } from './stats';
