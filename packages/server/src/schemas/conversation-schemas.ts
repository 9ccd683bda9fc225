import {
  agentSchema,
  confirmationPolicySchema,
  conversationStateSchema,
  executionStatusSchema,
  llmSchema,
  messageContentSchema,
  metricsSchema,
} from '@ferry/sdk-core';
import { z } from 'zod';
import { apiRegistry } from './api-registry';

apiRegistry.add(agentSchema, { id: 'Agent' });
apiRegistry.add(llmSchema, { id: 'LLM' });
apiRegistry.add(confirmationPolicySchema, { id: 'ConfirmationPolicy' });

/** OpenHands' `SendMessageRequest`. Only `user` messages can be sent. */
export const sendMessageRequestSchema = z
  .looseObject({
    role: z
      .enum(['user', 'system', 'assistant', 'tool'])
      .default('user')
      .describe(
        "OpenHands' roles; only `user` messages reach the agent (others: 422 MESSAGE_ROLE_NOT_SUPPORTED)",
      ),
    content: z.array(messageContentSchema).default([]),
    run: z.boolean().default(false).describe('Start running the agent if it is not running'),
  })
  .register(apiRegistry, { id: 'SendMessageRequest' });
export type SendMessageRequest = z.infer<typeof sendMessageRequestSchema>;

/** A secret value: a plain string, or OpenHands' `StaticSecret` document. */
export const secretValueSchema = z.union([
  z.string(),
  z.looseObject({ kind: z.literal('StaticSecret').optional(), value: z.string() }),
]);
export type SecretValue = z.infer<typeof secretValueSchema>;

/** Where the conversation works; see the README for where it ends up under the workspace root. */
export const workspaceRequestSchema = z.looseObject({
  kind: z.string().optional(),
  working_dir: z.string().nullish(),
});

/** OpenHands' `StartConversationRequest`: the fields Ferry acts on; others are accepted and ignored. */
export const startConversationRequestSchema = z
  .looseObject({
    agent: agentSchema,
    workspace: workspaceRequestSchema.default({}),
    conversation_id: z.string().nullish(),
    confirmation_policy: confirmationPolicySchema.optional(),
    initial_message: sendMessageRequestSchema.nullish(),
    max_iterations: z.number().int().positive().optional(),
    stuck_detection: z.boolean().optional(),
    secrets: z.record(z.string(), secretValueSchema).optional(),
    security_analyzer: z.looseObject({ kind: z.string() }).nullish(),
    tags: z.record(z.string(), z.string()).optional(),
    title: z.string().nullish().describe('Ferry: the title of the new conversation'),
    autotitle: z
      .boolean()
      .default(true)
      .describe('Title the conversation from its first user message when it has none'),
    title_llm_profile: z
      .string()
      .nullish()
      .describe('The stored LLM profile that writes the title; without it the message is cut'),
  })
  .register(apiRegistry, { id: 'StartConversationRequest' });
export type StartConversationRequest = z.infer<typeof startConversationRequestSchema>;

/**
 * OpenHands' `ConversationInfo`: the state document (secrets redacted) with its times and
 * every other field of OpenHands' model (see `toConversationInfo`).
 */
export const conversationInfoSchema = conversationStateSchema
  .extend({
    invoked_skills: z.array(z.string()),
    last_user_message_id: z.string().nullable(),
    leaf_event_id: z.string().nullable(),
    agent_state: z.record(z.string(), z.unknown()),
    hook_config: z.looseObject({}).nullable(),
    metrics: metricsSchema.nullable().describe('All LLM usage added up (MetricsSnapshot)'),
    created_at: z.string(),
    updated_at: z.string(),
    forked_from_conversation_id: z.string().nullable(),
    forked_from_event_id: z.string().nullable(),
    parent_conversation_id: z.string().nullable(),
    sub_conversation_ids: z.array(z.string()),
    current_model_id: z.string().nullable(),
    available_models: z.array(z.looseObject({ model_id: z.string() })),
    supports_runtime_model_switch: z.boolean(),
    launched_agent_profile: z.looseObject({}).nullable(),
    client_tools: z.array(z.looseObject({})),
  })
  .register(apiRegistry, { id: 'ConversationInfo' });
export type ConversationInfo = z.infer<typeof conversationInfoSchema>;

export const conversationSortOrderSchema = z.enum([
  'CREATED_AT',
  'UPDATED_AT',
  'CREATED_AT_DESC',
  'UPDATED_AT_DESC',
]);
export type ConversationSortOrder = z.infer<typeof conversationSortOrderSchema>;

export const conversationSearchQuerySchema = z.object({
  page_id: z.string().nullish().describe('next_page_id of the previous page'),
  limit: z.coerce.number().int().positive().max(100).default(100),
  status: executionStatusSchema.nullish(),
  sort_order: conversationSortOrderSchema.default('CREATED_AT_DESC'),
});

export const conversationCountQuerySchema = z.object({
  status: executionStatusSchema.nullish(),
});

/** OpenHands' `ConversationPage`. */
export const conversationPageSchema = z
  .object({
    items: z.array(conversationInfoSchema),
    next_page_id: z.string().nullable(),
  })
  .register(apiRegistry, { id: 'ConversationPage' });

export const batchGetQuerySchema = z.object({
  ids: z
    .union([z.string(), z.array(z.string())])
    .transform((ids) => (Array.isArray(ids) ? ids : [ids])),
});

/** OpenHands' `UpdateConversationRequest`. */
export const updateConversationRequestSchema = z
  .object({
    title: z.string().nullish(),
    tags: z.record(z.string(), z.string()).nullish(),
  })
  .register(apiRegistry, { id: 'UpdateConversationRequest' });

/** OpenHands' `SetConfirmationPolicyRequest`. */
export const setConfirmationPolicyRequestSchema = z.object({ policy: confirmationPolicySchema });

/** OpenHands' `UpdateSecretsRequest`. */
export const updateSecretsRequestSchema = z.object({
  secrets: z.record(z.string(), secretValueSchema),
});

/** OpenHands' switch_llm body. */
export const switchLlmRequestSchema = z.object({ llm: llmSchema });

/** OpenHands' `ForkConversationRequest`. */
export const forkConversationRequestSchema = z.object({
  id: z.string().nullish(),
  from_event_id: z.string().nullish(),
  title: z.string().nullish(),
  tags: z.record(z.string(), z.string()).nullish(),
  reset_metrics: z.boolean().optional().describe('Accepted; a fork always starts with empty stats'),
});

/** OpenHands' `AskAgentRequest` / `AskAgentResponse`. */
export const askAgentRequestSchema = z.object({ question: z.string().min(1) });
export const askAgentResponseSchema = z.object({ response: z.string() });

/** OpenHands' `ConfirmationResponseRequest`. */
export const confirmationResponseRequestSchema = z.object({
  accept: z.boolean(),
  reason: z.string().optional(),
});

/** Ferry: `PUT /api/conversations/{id}/agent`. */
export const replaceAgentRequestSchema = z
  .object({ agent: agentSchema })
  .register(apiRegistry, { id: 'ReplaceAgentRequest' });

/** One agent field that changed (secrets shown as `**********`). */
export const resumeChangeSchema = z.object({
  path: z.string(),
  old: z.unknown(),
  new: z.unknown(),
  secret: z.boolean(),
});

/** Why an agent cannot replace the conversation's (`planResume` problems). */
export const resumeProblemSchema = z.discriminatedUnion('code', [
  z.object({
    code: z.literal('AGENT_KIND_MISMATCH'),
    message: z.string(),
    persisted: z.string(),
    runtime: z.string(),
  }),
  z.object({ code: z.literal('TOOLS_REMOVED'), message: z.string(), removed: z.array(z.string()) }),
]);

/** Ferry: what replacing the agent did. */
export const replaceAgentResponseSchema = z
  .object({
    plan: z.object({
      compatible: z.boolean(),
      problems: z.array(resumeProblemSchema),
      changes: z.array(resumeChangeSchema),
    }),
  })
  .register(apiRegistry, { id: 'ReplaceAgentResponse' });
