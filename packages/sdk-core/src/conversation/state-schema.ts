import { z } from 'zod';
import { agentSchema } from '../agent/agent-schema';
import { confirmationPolicySchema } from './confirmation-policy';
import { workspaceDescriptorSchema } from '../workspace/workspace-descriptor';
import { conversationStatsSchema } from './stats';

/** Where a conversation is in its life. `run()` resolves when it leaves `running`. */
export const executionStatusSchema = z.enum([
  'idle',
  'running',
  'paused',
  'waiting_for_confirmation',
  'finished',
  'error',
  'stuck',
]);
export type ExecutionStatus = z.infer<typeof executionStatusSchema>;

/** A named secret known to the conversation (OpenHands' `StaticSecret` / `LookupSecret`). */
export const secretSourceSchema = z.looseObject({
  kind: z.string().default('StaticSecret'),
  value: z.string().nullish(),
  url: z.string().optional(),
  headers: z.record(z.string(), z.string()).optional(),
  description: z.string().nullish(),
});
export type SecretSource = z.infer<typeof secretSourceSchema>;

/** Secrets registered on the conversation by name. */
export const secretRegistrySchema = z.looseObject({
  secret_sources: z.record(z.string(), secretSourceSchema).default({}),
});
export type SecretRegistry = z.infer<typeof secretRegistrySchema>;

/** Ferry: the conversation left for another place and must not run here. */
export const teleportInfoSchema = z.looseObject({
  to: z.string(),
  at: z.string(),
  bundle_id: z.string().optional(),
});
export type TeleportInfo = z.infer<typeof teleportInfoSchema>;

/** The state document, persisted as `base_state.json` (OpenHands' `ConversationState`). */
export const conversationStateSchema = z.looseObject({
  id: z.string().min(1),
  agent: agentSchema,
  workspace: workspaceDescriptorSchema,
  persistence_dir: z.string().nullish(),
  max_iterations: z.number().int().positive().default(500),
  stuck_detection: z.boolean().default(true),
  execution_status: executionStatusSchema.default('idle'),
  confirmation_policy: confirmationPolicySchema.default({ kind: 'NeverConfirm' }),
  security_analyzer: z.looseObject({ kind: z.string() }).nullish(),
  activated_knowledge_skills: z.array(z.string()).default([]),
  blocked_actions: z.record(z.string(), z.string()).default({}),
  blocked_messages: z.record(z.string(), z.string()).default({}),
  stats: conversationStatsSchema.default({ usage_to_metrics: {} }),
  secret_registry: secretRegistrySchema.default({ secret_sources: {} }),
  tags: z.record(z.string(), z.string()).default({}),
  title: z.string().nullish(),
  /** The id of the latest user `MessageEvent` (OpenHands keeps it in the state too). */
  last_user_message_id: z.string().nullish(),
  /** A fork's source conversation and the event it was forked at (null: the whole log). */
  forked_from_conversation_id: z.string().nullish(),
  forked_from_event_id: z.string().nullish(),
  teleport: teleportInfoSchema.nullish(),
});
export type ConversationState = z.infer<typeof conversationStateSchema>;
