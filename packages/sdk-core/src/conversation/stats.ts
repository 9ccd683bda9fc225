import { z } from 'zod';

/** Accumulated token counts of one LLM (OpenHands' `TokenUsage`). */
export const tokenUsageSchema = z.looseObject({
  model: z.string().default(''),
  prompt_tokens: z.number().default(0),
  completion_tokens: z.number().default(0),
  cache_read_tokens: z.number().default(0),
  cache_write_tokens: z.number().default(0),
  reasoning_tokens: z.number().default(0),
  context_window: z.number().default(0),
  per_turn_token: z.number().default(0),
  response_id: z.string().default(''),
});
export type TokenUsage = z.infer<typeof tokenUsageSchema>;

/** Usage and cost of one `usage_id` (OpenHands' `Metrics`). */
export const metricsSchema = z.looseObject({
  model_name: z.string().default(''),
  accumulated_cost: z.number().default(0),
  max_budget_per_task: z.number().nullish(),
  accumulated_token_usage: tokenUsageSchema.nullish(),
  /** Ferry: number of LLM calls and their summed latency in seconds. */
  calls: z.number().optional(),
  total_latency: z.number().optional(),
});
export type Metrics = z.infer<typeof metricsSchema>;

/** Usage per `usage_id` across the whole life of a conversation. */
export const conversationStatsSchema = z.looseObject({
  usage_to_metrics: z.record(z.string(), metricsSchema).default({}),
});
export type ConversationStats = z.infer<typeof conversationStatsSchema>;

/** One LLM call's usage, to add to the stats. */
export interface UsageRecord {
  /** The LLM's `usage_id` (e.g. `default`, `condenser`). */
  usageId: string;
  model: string;
  promptTokens?: number;
  completionTokens?: number;
  cacheReadTokens?: number;
  cacheWriteTokens?: number;
  reasoningTokens?: number;
  /** Cost in USD, when a price is known. */
  cost?: number;
  /** Seconds the call took. */
  latency?: number;
  responseId?: string;
}

/** Returns new stats with `usage` added; never mutates or resets the input. */
export function addUsage(stats: ConversationStats, usage: UsageRecord): ConversationStats {
  const previous = stats.usage_to_metrics[usage.usageId];
  const tokens = tokenUsageSchema.parse(previous?.accumulated_token_usage ?? {});
  const turn = (usage.promptTokens ?? 0) + (usage.completionTokens ?? 0);
  const metrics: Metrics = {
    ...metricsSchema.parse(previous ?? {}),
    model_name: usage.model,
    accumulated_cost: (previous?.accumulated_cost ?? 0) + (usage.cost ?? 0),
    accumulated_token_usage: {
      ...tokens,
      model: usage.model,
      prompt_tokens: tokens.prompt_tokens + (usage.promptTokens ?? 0),
      completion_tokens: tokens.completion_tokens + (usage.completionTokens ?? 0),
      cache_read_tokens: tokens.cache_read_tokens + (usage.cacheReadTokens ?? 0),
      cache_write_tokens: tokens.cache_write_tokens + (usage.cacheWriteTokens ?? 0),
      reasoning_tokens: tokens.reasoning_tokens + (usage.reasoningTokens ?? 0),
      per_turn_token: turn,
      response_id: usage.responseId ?? tokens.response_id,
    },
    calls: (previous?.calls ?? 0) + 1,
    total_latency: (previous?.total_latency ?? 0) + (usage.latency ?? 0),
  };
  return { ...stats, usage_to_metrics: { ...stats.usage_to_metrics, [usage.usageId]: metrics } };
}
