import type { ConversationState, Metrics, TokenUsage } from '@ferry/sdk-core';
import type { ConversationInfo, ConversationSortOrder } from '../schemas/conversation-schemas';
import type { ConversationRecord } from './conversation-manager';

/**
 * OpenHands' `MetricsSnapshot` of a conversation: the usage of all its LLMs (`usage_id`s)
 * added up, as OpenHands' `ConversationStats.get_combined_metrics()` does, named after the
 * agent's model.
 */
export function metricsSnapshot(state: ConversationState): Metrics | null {
  const all = Object.values(state.stats.usage_to_metrics);
  if (all.length === 0) return null;
  const usages = all
    .map((metrics) => metrics.accumulated_token_usage)
    .filter((usage): usage is TokenUsage => usage != null);
  const sum = (
    key:
      | 'prompt_tokens'
      | 'completion_tokens'
      | 'cache_read_tokens'
      | 'cache_write_tokens'
      | 'reasoning_tokens',
  ) => usages.reduce((total, usage) => total + usage[key], 0);
  return {
    model_name: state.agent.llm.model,
    accumulated_cost: all.reduce((total, metrics) => total + metrics.accumulated_cost, 0),
    max_budget_per_task: null,
    accumulated_token_usage:
      usages.length === 0
        ? null
        : {
            model: state.agent.llm.model,
            prompt_tokens: sum('prompt_tokens'),
            completion_tokens: sum('completion_tokens'),
            cache_read_tokens: sum('cache_read_tokens'),
            cache_write_tokens: sum('cache_write_tokens'),
            reasoning_tokens: sum('reasoning_tokens'),
            context_window: Math.max(...usages.map((usage) => usage.context_window)),
            per_turn_token: usages.at(-1)?.per_turn_token ?? 0,
            response_id: usages.at(-1)?.response_id ?? '',
          },
  };
}

/**
 * OpenHands' `ConversationInfo` of a conversation: its redacted state, its times, and every
 * other field of that model with Ferry's value. Ferry has no ACP agents, sub-conversations,
 * hooks, client tools or agent profiles, so those fields hold what OpenHands gives a native
 * agent without them; a Ferry log is linear, so `leaf_event_id` is `null` (OpenHands: the
 * linear tail).
 */
export function toConversationInfo(record: ConversationRecord): ConversationInfo {
  const { state } = record;
  return {
    ...state,
    persistence_dir: state.persistence_dir ?? null,
    security_analyzer: state.security_analyzer ?? null,
    invoked_skills: stringList(state.invoked_skills),
    last_user_message_id: state.last_user_message_id ?? null,
    leaf_event_id: null,
    agent_state: isRecord(state.agent_state) ? state.agent_state : {},
    hook_config: null,
    title: state.title ?? null,
    metrics: metricsSnapshot(state),
    created_at: record.createdAt,
    updated_at: record.updatedAt,
    forked_from_conversation_id: state.forked_from_conversation_id ?? null,
    forked_from_event_id: state.forked_from_event_id ?? null,
    parent_conversation_id: null,
    sub_conversation_ids: [],
    current_model_id: null,
    available_models: [],
    supports_runtime_model_switch: false,
    launched_agent_profile: null,
    client_tools: [],
  };
}

function stringList(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item) => typeof item === 'string') : [];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
/** Options of {@link searchConversations}. */
export interface ConversationSearch {
  pageId?: string | null | undefined;
  limit: number;
  status?: string | null | undefined;
  sortOrder: ConversationSortOrder;
}

function sortKey(record: ConversationRecord, order: ConversationSortOrder): number {
  return Date.parse(order.startsWith('CREATED_AT') ? record.createdAt : record.updatedAt);
}

/**
 * One page of conversations: filtered by status, sorted, starting at the conversation whose id
 * is `pageId` (the previous page's `next_page_id`). Ties are broken by id so pages are stable.
 */
export function searchConversations(
  records: readonly ConversationRecord[],
  search: ConversationSearch,
): { items: ConversationInfo[]; next_page_id: string | null } {
  const descending = search.sortOrder.endsWith('_DESC');
  const sorted = records
    .filter((record) => search.status == null || record.state.execution_status === search.status)
    .sort((a, b) => {
      const difference = sortKey(a, search.sortOrder) - sortKey(b, search.sortOrder);
      const order = difference !== 0 ? difference : a.state.id.localeCompare(b.state.id);
      return descending ? -order : order;
    });
  let start = 0;
  if (search.pageId != null) {
    const index = sorted.findIndex((record) => record.state.id === search.pageId);
    start = index < 0 ? sorted.length : index;
  }
  const page = sorted.slice(start, start + search.limit);
  const next = sorted[start + search.limit];
  return { items: page.map(toConversationInfo), next_page_id: next?.state.id ?? null };
}
