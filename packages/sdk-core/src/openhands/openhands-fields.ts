/**
 * The fields OpenHands' event models accept (agent-server / SDK 1.43.1). Its events forbid any
 * other field, so one extra key makes the Python SDK refuse the whole conversation. Read from
 * the models' definitions; `openhands-fields.test.ts` compares this table with them.
 */
const envelope = ['id', 'timestamp', 'source', 'parent_id', 'kind'] as const;

/** Field names by event kind, for the kinds OpenHands and Ferry share. */
export const openHandsEventFields: Readonly<Record<string, readonly string[]>> = {
  SystemPromptEvent: [...envelope, 'system_prompt', 'tools', 'dynamic_context'],
  MessageEvent: [
    ...envelope,
    'llm_message',
    'llm_response_id',
    'activated_skills',
    'extended_content',
    'sender',
    'critic_result',
  ],
  ActionEvent: [
    ...envelope,
    'thought',
    'reasoning_content',
    'thinking_blocks',
    'responses_reasoning_item',
    'action',
    'tool_name',
    'tool_call_id',
    'tool_call',
    'llm_response_id',
    'security_risk',
    'critic_result',
    'summary',
  ],
  ObservationEvent: [
    ...envelope,
    'tool_name',
    'tool_call_id',
    'observation',
    'action_id',
    'extended_content',
  ],
  UserRejectObservation: [
    ...envelope,
    'tool_name',
    'tool_call_id',
    'rejection_reason',
    'rejection_source',
    'action_id',
  ],
  AgentErrorEvent: [...envelope, 'tool_name', 'tool_call_id', 'error', 'classification'],
  Condensation: [
    ...envelope,
    'forgotten_event_ids',
    'summary',
    'summary_offset',
    'llm_response_id',
  ],
  CondensationRequest: [...envelope],
  CondensationSummaryEvent: [...envelope, 'summary'],
  ConversationStateUpdateEvent: [...envelope, 'key', 'value'],
  ConversationErrorEvent: [...envelope, 'code', 'detail', 'classification'],
  PauseEvent: [...envelope],
  InterruptEvent: [...envelope],
};

/**
 * Fields of OpenHands' `ConversationState` (`base_state.json`). Unlike events, the state model
 * ignores other fields; Ferry still leaves its own out of an export.
 */
export const openHandsStateFields: readonly string[] = [
  'id',
  'agent',
  'workspace',
  'persistence_dir',
  'max_iterations',
  'stuck_detection',
  'execution_status',
  'confirmation_policy',
  'security_analyzer',
  'activated_knowledge_skills',
  'activated_path_rules',
  'invoked_skills',
  'blocked_actions',
  'blocked_messages',
  'last_user_message_id',
  'leaf_event_id',
  'head_is_empty',
  'stats',
  'secret_registry',
  'tags',
  'agent_state',
  'hook_config',
];

/** OpenHands' rule for tag keys (`ConversationTags`): lowercase letters and digits only. */
export const OPENHANDS_TAG_KEY = /^[a-z0-9]+$/;

/** OpenHands' longest tag value. */
export const OPENHANDS_TAG_VALUE_MAX_LENGTH = 256;
