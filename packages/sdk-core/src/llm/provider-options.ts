import type { JSONValue } from 'ai';
import { compatibleProviderName } from './create-language-model';
import type { LLM, ReasoningEffort } from './llm-schema';
import type { ModelRoute } from './model-route';

/** The AI SDK's `providerOptions`: options per provider name. */
export type ProviderOptions = Record<string, Record<string, JSONValue>>;

/**
 * Anthropic thinking budgets per reasoning effort, as LiteLLM maps `reasoning_effort` for
 * Claude (`xhigh` goes one step further).
 */
export const anthropicThinkingBudgets: Record<Exclude<ReasoningEffort, 'none'>, number> = {
  low: 1024,
  medium: 2048,
  high: 4096,
  xhigh: 8192,
};

/**
 * The provider options of a call: the reasoning effort where the model takes one, and, for an
 * OpenAI-compatible endpoint, `litellm_extra_body` (the compatible provider spreads unknown
 * options of its own name into the request body).
 *
 * OpenHands documents often carry `reasoning_effort: "high"` for models that reject it (e.g.
 * `gpt-4o-mini`), so it is only sent to OpenAI reasoning models, to Claude models with extended
 * thinking (as a thinking budget), and to compatible endpoints unless the model id is an OpenAI
 * model without reasoning.
 */
export function buildProviderOptions(llm: LLM, route: ModelRoute): ProviderOptions | undefined {
  const effort = llm.reasoning_effort ?? undefined;
  switch (route.kind) {
    case 'openai':
      return effort !== undefined && isOpenAIReasoningModel(route.modelId)
        ? { openai: { reasoningEffort: effort } }
        : undefined;
    case 'anthropic': {
      const budgetTokens = anthropicThinkingBudget(llm, route);
      return budgetTokens === undefined
        ? undefined
        : { anthropic: { thinking: { type: 'enabled', budgetTokens } } };
    }
    case 'openai-compatible': {
      const sendEffort =
        effort !== undefined &&
        (!isOpenAIModel(route.modelId) || isOpenAIReasoningModel(route.modelId));
      // The extra body is a JSON document field, so its values are JSON.
      const extraBody = (llm.litellm_extra_body ?? {}) as Record<string, JSONValue>;
      const options = { ...extraBody, ...(sendEffort ? { reasoningEffort: effort } : {}) };
      return Object.keys(options).length === 0 ? undefined : { [compatibleProviderName]: options };
    }
    case 'custom':
      // Options are keyed by provider, which Ferry does not know for a model made elsewhere.
      return undefined;
  }
}

/**
 * `temperature` and `top_p` as the model accepts them. The AI SDK drops (with a console warning
 * on every call) sampling settings of OpenAI reasoning models and of Claude while it thinks, and
 * `top_p` next to `temperature` for Claude; OpenHands documents set both, so Ferry leaves them
 * out itself.
 */
export function samplingSettings(
  llm: LLM,
  route: ModelRoute,
): { temperature?: number; topP?: number } {
  const temperature = llm.temperature ?? undefined;
  const topP = llm.top_p ?? undefined;
  switch (route.kind) {
    case 'openai':
      if (isOpenAIReasoningModel(route.modelId) && llm.reasoning_effort !== 'none') return {};
      break;
    case 'anthropic':
      if (anthropicThinkingBudget(llm, route) !== undefined) return {};
      if (temperature !== undefined) return { temperature };
      break;
    case 'openai-compatible':
    case 'custom':
      break;
  }
  return {
    ...(temperature === undefined ? {} : { temperature }),
    ...(topP === undefined ? {} : { topP }),
  };
}

function anthropicThinkingBudget(llm: LLM, route: ModelRoute): number | undefined {
  const effort = llm.reasoning_effort ?? undefined;
  if (effort === undefined || effort === 'none' || !hasExtendedThinking(route.modelId)) {
    return undefined;
  }
  return anthropicThinkingBudgets[effort];
}

function isOpenAIModel(modelId: string): boolean {
  return /^(gpt-|chatgpt-|o\d)/.test(modelId);
}

/** o-series and GPT-5+ models (not `gpt-5-chat-*`), as the AI SDK tells them apart. */
export function isOpenAIReasoningModel(modelId: string): boolean {
  if (/^o\d+(-|$)/.test(modelId)) return true;
  const gpt = /^gpt-(\d+)(\.\d+)?(?:-(.*))?$/.exec(modelId);
  if (gpt === null) return false;
  const [, major, minor, variant = ''] = gpt;
  return Number(major) >= 5 && !(minor === undefined && variant.startsWith('chat'));
}

/** Claude 3.7 Sonnet and the Claude 4+ families support extended thinking. */
export function hasExtendedThinking(modelId: string): boolean {
  return /^claude-(3-7-sonnet|(opus|sonnet|haiku)-([4-9]|\d{2,}))/.test(modelId);
}
