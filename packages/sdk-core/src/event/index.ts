export {
  anyThinkingBlockSchema,
  contentToText,
  imageContentSchema,
  messageContentSchema,
  messageSchema,
  messageToolCallSchema,
  redactedThinkingBlockSchema,
  textContentSchema,
  thinkingBlockSchema,
} from './content';
export type {
  ImageContent,
  Message,
  MessageContent,
  MessageToolCall,
  TextContent,
  ThinkingBlock,
} from './content';
export {
  eventEnvelopeSchema,
  eventSourceSchema,
  newEventEnvelope,
  parseTimestamp,
  timestampSchema,
} from './event-base';
export type { EventEnvelope, EventSource } from './event-base';
export {
  actionEventSchema,
  actionSchema,
  agentErrorEventSchema,
  condensationRequestSchema,
  condensationSchema,
  condensationSummaryEventSchema,
  conversationErrorEventSchema,
  conversationStateUpdateEventSchema,
  knownEventSchema,
  messageEventSchema,
  observationEventSchema,
  observationSchema,
  pauseEventSchema,
  securityRiskSchema,
  systemPromptEventSchema,
  teleportEventSchema,
  userRejectObservationSchema,
} from './event-schemas';
export type {
  Action,
  ActionEvent,
  AgentErrorEvent,
  Condensation,
  CondensationRequest,
  CondensationSummaryEvent,
  ConversationErrorEvent,
  ConversationStateUpdateEvent,
  Event,
  EventKind,
  MessageEvent,
  Observation,
  ObservationEvent,
  PauseEvent,
  SecurityRisk,
  SystemPromptEvent,
  TeleportEvent,
  UserRejectObservation,
} from './event-schemas';
export { isKnownEvent, isKnownEventKind, parseEvent, safeParseEvent } from './parse-event';
export type { AnyEvent, UnknownEvent } from './parse-event';
