import { z } from 'zod';
import {
  anyThinkingBlockSchema,
  messageSchema,
  messageToolCallSchema,
  textContentSchema,
} from './content';
import { eventBaseShape } from './event-base';

/** The LLM's own risk annotation of an action. */
export const securityRiskSchema = z.enum(['UNKNOWN', 'LOW', 'MEDIUM', 'HIGH']);
export type SecurityRisk = z.infer<typeof securityRiskSchema>;

/** A tool's action document, e.g. `{ kind: 'TerminalAction', command: 'ls' }`. */
export const actionSchema = z.looseObject({ kind: z.string().min(1) });
export type Action = z.infer<typeof actionSchema>;

/** A tool's observation document, e.g. `{ kind: 'TerminalObservation', content: [...] }`. */
export const observationSchema = z.looseObject({ kind: z.string().min(1) });
export type Observation = z.infer<typeof observationSchema>;

/** The tool definitions and system prompt the agent started with. */
export const systemPromptEventSchema = z.looseObject({
  ...eventBaseShape,
  kind: z.literal('SystemPromptEvent'),
  system_prompt: textContentSchema,
  tools: z.array(z.unknown()).default([]),
});
export type SystemPromptEvent = z.infer<typeof systemPromptEventSchema>;

/** A message from the user or the agent (not a tool call). */
export const messageEventSchema = z.looseObject({
  ...eventBaseShape,
  kind: z.literal('MessageEvent'),
  llm_message: messageSchema,
  llm_response_id: z.string().nullish(),
  activated_skills: z.array(z.string()).default([]),
  extended_content: z.array(textContentSchema).default([]),
  sender: z.string().nullish(),
});
export type MessageEvent = z.infer<typeof messageEventSchema>;

/** One tool call the agent made, with its reasoning. */
export const actionEventSchema = z.looseObject({
  ...eventBaseShape,
  kind: z.literal('ActionEvent'),
  thought: z.array(textContentSchema).default([]),
  reasoning_content: z.string().nullish(),
  thinking_blocks: z.array(anyThinkingBlockSchema).default([]),
  responses_reasoning_item: z.unknown().optional(),
  action: actionSchema.nullish(),
  tool_name: z.string(),
  tool_call_id: z.string(),
  tool_call: messageToolCallSchema,
  llm_response_id: z.string(),
  security_risk: securityRiskSchema.default('UNKNOWN'),
  summary: z.string().nullish(),
});
export type ActionEvent = z.infer<typeof actionEventSchema>;

/** The result of executing an action. */
export const observationEventSchema = z.looseObject({
  ...eventBaseShape,
  kind: z.literal('ObservationEvent'),
  observation: observationSchema,
  action_id: z.string(),
  tool_name: z.string(),
  tool_call_id: z.string(),
});
export type ObservationEvent = z.infer<typeof observationEventSchema>;

/** The user (or a hook) rejected an action; the LLM sees the reason. */
export const userRejectObservationSchema = z.looseObject({
  ...eventBaseShape,
  kind: z.literal('UserRejectObservation'),
  action_id: z.string(),
  tool_name: z.string(),
  tool_call_id: z.string(),
  rejection_reason: z.string().default('User rejected the action'),
  rejection_source: z.enum(['user', 'hook']).default('user'),
});
export type UserRejectObservation = z.infer<typeof userRejectObservationSchema>;

/** An error the agent made (bad arguments, unknown tool, failed tool); the LLM sees it. */
export const agentErrorEventSchema = z.looseObject({
  ...eventBaseShape,
  kind: z.literal('AgentErrorEvent'),
  error: z.string(),
  tool_name: z.string(),
  tool_call_id: z.string(),
});
export type AgentErrorEvent = z.infer<typeof agentErrorEventSchema>;

/** The condenser forgot these events and (optionally) summarised them. */
export const condensationSchema = z.looseObject({
  ...eventBaseShape,
  kind: z.literal('Condensation'),
  forgotten_event_ids: z.array(z.string()).default([]),
  summary: z.string().nullish(),
  summary_offset: z.number().int().nullish(),
  llm_response_id: z.string(),
});
export type Condensation = z.infer<typeof condensationSchema>;

/** Someone asked for a condensation at the next step. */
export const condensationRequestSchema = z.looseObject({
  ...eventBaseShape,
  kind: z.literal('CondensationRequest'),
});
export type CondensationRequest = z.infer<typeof condensationRequestSchema>;

/** A summary of forgotten events, as the LLM sees it. */
export const condensationSummaryEventSchema = z.looseObject({
  ...eventBaseShape,
  kind: z.literal('CondensationSummaryEvent'),
  summary: z.string(),
});
export type CondensationSummaryEvent = z.infer<typeof condensationSummaryEventSchema>;

/** A change to a field of the conversation state (e.g. `execution_status`, `agent`). */
export const conversationStateUpdateEventSchema = z.looseObject({
  ...eventBaseShape,
  kind: z.literal('ConversationStateUpdateEvent'),
  key: z.string(),
  value: z.unknown(),
});
export type ConversationStateUpdateEvent = z.infer<typeof conversationStateUpdateEventSchema>;

/** The conversation failed as a whole (e.g. `MaxIterationsReached`). */
export const conversationErrorEventSchema = z.looseObject({
  ...eventBaseShape,
  kind: z.literal('ConversationErrorEvent'),
  code: z.string(),
  detail: z.string(),
});
export type ConversationErrorEvent = z.infer<typeof conversationErrorEventSchema>;

/** The user paused the conversation. */
export const pauseEventSchema = z.looseObject({
  ...eventBaseShape,
  kind: z.literal('PauseEvent'),
});
export type PauseEvent = z.infer<typeof pauseEventSchema>;

/**
 * The user interrupted a run: the LLM call or tool in flight was aborted, the actions it left
 * were answered, and the status became `paused` (recorded after that status change, as
 * OpenHands' `InterruptEvent`).
 */
export const interruptEventSchema = z.looseObject({
  ...eventBaseShape,
  kind: z.literal('InterruptEvent'),
});
export type InterruptEvent = z.infer<typeof interruptEventSchema>;

/** Ferry: the conversation moved between places; timelines show where each stretch ran. */
export const teleportEventSchema = z.looseObject({
  ...eventBaseShape,
  kind: z.literal('TeleportEvent'),
  from: z.string(),
  to: z.string(),
  bundle_id: z.string(),
});
export type TeleportEvent = z.infer<typeof teleportEventSchema>;

/**
 * Every event kind Ferry knows, discriminated by `kind`. `parse-common-event.ts` mirrors the
 * common kinds by hand for speed: change both together (its tests compare them).
 */
export const knownEventSchema = z.discriminatedUnion('kind', [
  systemPromptEventSchema,
  messageEventSchema,
  actionEventSchema,
  observationEventSchema,
  userRejectObservationSchema,
  agentErrorEventSchema,
  condensationSchema,
  condensationRequestSchema,
  condensationSummaryEventSchema,
  conversationStateUpdateEventSchema,
  conversationErrorEventSchema,
  pauseEventSchema,
  interruptEventSchema,
  teleportEventSchema,
]);
/** An event of a kind Ferry knows. */
export type Event = z.infer<typeof knownEventSchema>;
/** The `kind` of a known event. */
export type EventKind = Event['kind'];
