import { LLMConfigurationError } from '../errors/llm-configuration-error';
import type { LLM } from './llm-schema';

/**
 * Provider prefixes (LiteLLM's names) stripped from `model` when it is sent to a `base_url`
 * endpoint: `litellm_proxy/gpt-4o` asks the endpoint for `gpt-4o`, while `meta-llama/Llama-3-8B`
 * (an organisation, not a provider) is sent whole.
 */
export const knownProviderPrefixes: ReadonlySet<string> = new Set([
  'openai',
  'anthropic',
  'azure',
  'litellm_proxy',
  'hosted_vllm',
  'vllm',
  'ollama',
  'ollama_chat',
  'lm_studio',
  'openrouter',
  'deepseek',
  'groq',
  'together_ai',
  'fireworks_ai',
  'mistral',
  'xai',
  'gemini',
  'openai_compatible',
  'custom_openai',
]);

/** Where a call goes and which model id the provider is asked for. */
export type ModelRoute =
  | ProviderRoute
  /** A model made by a `LanguageModelFactory`; `resolveModelRoute` never returns it. */
  | { kind: 'custom'; modelId: string };

/** A provider Ferry creates itself from the document. */
export type ProviderRoute =
  | { kind: 'openai'; modelId: string }
  | { kind: 'anthropic'; modelId: string }
  | { kind: 'openai-compatible'; modelId: string; baseUrl: string };

/**
 * Maps an LLM document to a provider:
 *
 * - any `base_url` -> the OpenAI-compatible Chat Completions endpoint at that URL; the model id
 *   is `model` without its first segment when that segment is a known provider prefix
 *   (`openai/`, `anthropic/`, `litellm_proxy/`, `ollama/`, ... see `knownProviderPrefixes`),
 *   else the whole `model`;
 * - else `openai/x` or a bare `x` -> OpenAI Chat Completions, model `x`;
 * - else `anthropic/x` -> Anthropic Messages, model `x`;
 * - any other prefix without `base_url` -> `LLMConfigurationError`.
 */
export function resolveModelRoute(llm: LLM): ProviderRoute {
  const baseUrl = llm.base_url?.trim();
  const slash = llm.model.indexOf('/');
  const prefix = slash === -1 ? undefined : llm.model.slice(0, slash);
  const rest = slash === -1 ? llm.model : llm.model.slice(slash + 1);

  if (baseUrl !== undefined && baseUrl !== '') {
    const modelId = prefix !== undefined && knownProviderPrefixes.has(prefix) ? rest : llm.model;
    if (modelId === '') throw configurationError(llm, `the model "${llm.model}" names no model.`);
    return { kind: 'openai-compatible', modelId, baseUrl: withoutTrailingSlash(baseUrl) };
  }
  if (rest === '') throw configurationError(llm, `the model "${llm.model}" names no model.`);
  if (prefix === undefined || prefix === 'openai') return { kind: 'openai', modelId: rest };
  if (prefix === 'anthropic') return { kind: 'anthropic', modelId: rest };
  throw configurationError(
    llm,
    `the provider "${prefix}" of model "${llm.model}" is not supported directly. Set base_url ` +
      'to an OpenAI-compatible endpoint serving it (a LiteLLM proxy, vLLM, Ollama, ...), or use ' +
      'an "openai/..." or "anthropic/..." model (a bare name means OpenAI).',
  );
}

function configurationError(llm: LLM, problem: string): LLMConfigurationError {
  return new LLMConfigurationError(problem, { usageId: llm.usage_id, model: llm.model });
}

function withoutTrailingSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
