import type { LanguageModelV3Usage } from '@ai-sdk/provider';
import type { LLM } from './llm-schema';
import { findModelPrice, type ModelPrice } from './model-prices';

/** Token counts of one call; prompt tokens include cached ones, completion include reasoning. */
export interface TokenCounts {
  promptTokens: number;
  completionTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  reasoningTokens: number;
}

/** Reads a provider's usage report; a count the provider did not report is 0. */
export function tokenCounts(usage: LanguageModelV3Usage | undefined): TokenCounts {
  return {
    promptTokens: usage?.inputTokens.total ?? 0,
    completionTokens: usage?.outputTokens.total ?? 0,
    cacheReadTokens: usage?.inputTokens.cacheRead ?? 0,
    cacheWriteTokens: usage?.inputTokens.cacheWrite ?? 0,
    reasoningTokens: usage?.outputTokens.reasoning ?? 0,
  };
}

/**
 * The cost of a call in USD: from the document's `input_cost_per_token` /
 * `output_cost_per_token` when either is set (cached prompt tokens at the input price), else
 * from the approximate built-in price of the model, else `undefined`.
 */
export function computeCost(options: {
  llm: LLM;
  modelId: string;
  tokens: TokenCounts;
}): number | undefined {
  const { llm, tokens } = options;
  const inputPrice = llm.input_cost_per_token ?? undefined;
  const outputPrice = llm.output_cost_per_token ?? undefined;
  const price: ModelPrice | undefined =
    inputPrice !== undefined || outputPrice !== undefined
      ? { input: inputPrice ?? 0, output: outputPrice ?? 0 }
      : findModelPrice(options.modelId);
  if (price === undefined) return undefined;

  const uncachedTokens = Math.max(
    0,
    tokens.promptTokens - tokens.cacheReadTokens - tokens.cacheWriteTokens,
  );
  return (
    uncachedTokens * price.input +
    tokens.cacheReadTokens * (price.cacheRead ?? price.input) +
    tokens.cacheWriteTokens * (price.cacheWrite ?? price.input) +
    tokens.completionTokens * price.output
  );
}
