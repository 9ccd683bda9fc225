export { llmSchema, llmSecretFields, reasoningEffortSchema } from './llm-schema';
export type { LLM, LLMInput, LLMSecretField, ReasoningEffort } from './llm-schema';
export { callLLM, DEFAULT_NUM_RETRIES } from './call-llm';
export type {
  LLMCallRequest,
  LLMCallResult,
  LanguageModelFactory,
  LLMReasoningPart,
  LLMToolCall,
  LLMToolSpec,
  LLMUsage,
} from './call-llm';
export { createLanguageModel } from './create-language-model';
export { providerIdentity } from './provider-identity';
export { knownProviderPrefixes, resolveModelRoute } from './model-route';
export type { ModelRoute, ProviderRoute } from './model-route';
export { builtinModelPrices, findModelPrice } from './model-prices';
export type { ModelPrice } from './model-prices';
export { computeCost } from './llm-usage';
export type { TokenCounts } from './llm-usage';
