import { createAnthropic } from '@ai-sdk/anthropic';
import { createOpenAI } from '@ai-sdk/openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import type { LanguageModel, wrapLanguageModel } from 'ai';
import { LLMCredentialsMissingError } from '../errors/llm-credentials-missing-error';
import { REDACTED_SECRET } from '../secrets/secret-cipher';
import type { LLM } from './llm-schema';
import { resolveModelRoute, type ProviderRoute } from './model-route';

/** The AI SDK's provider-level model (LanguageModelV3), which middleware can wrap. */
export type ProviderLanguageModel = Parameters<typeof wrapLanguageModel>[0]['model'];

/**
 * The name of the OpenAI-compatible provider Ferry creates; `providerOptions` under this key
 * reach the request (reasoning effort, extra body fields).
 */
export const compatibleProviderName = 'ferry';

const API_KEY_VARIABLES = { openai: 'OPENAI_API_KEY', anthropic: 'ANTHROPIC_API_KEY' } as const;

/**
 * The AI SDK language model an LLM document describes (see `resolveModelRoute` for the rule).
 * No request is made. Throws `LLMConfigurationError` for a model Ferry cannot route and
 * `LLMCredentialsMissingError` when OpenAI or Anthropic has no key: `api_key` is absent (or
 * redacted) and the provider's environment variable (`OPENAI_API_KEY`, `ANTHROPIC_API_KEY`) is
 * not set either. An OpenAI-compatible endpoint needs no key (vLLM, Ollama).
 */
export function createLanguageModel(llm: LLM): LanguageModel {
  return createProviderModel(llm, resolveModelRoute(llm));
}

export function createProviderModel(llm: LLM, route: ProviderRoute): ProviderLanguageModel {
  const apiKey = usableApiKey(llm.api_key);
  // Checked on every call: the environment variable may have been unset since.
  const providerKey =
    route.kind === 'openai-compatible' ? apiKey : requireApiKey(llm, apiKey, route.kind);
  const apiVersion =
    route.kind === 'openai-compatible' ? (llm.api_version ?? undefined) : undefined;
  // Everything the model is built from. The key stays in this in-memory map only.
  const cacheKey = JSON.stringify([route, providerKey ?? null, apiVersion ?? null]);
  const cached = models.get(cacheKey);
  if (cached !== undefined) {
    // Re-inserted so the map keeps the most recently used models.
    models.delete(cacheKey);
    models.set(cacheKey, cached);
    return cached;
  }
  const model = buildProviderModel(route, providerKey, apiVersion);
  models.set(cacheKey, model);
  if (models.size > MAX_CACHED_MODELS) {
    const oldest = models.keys().next();
    if (oldest.done !== true) models.delete(oldest.value);
  }
  return model;
}

/**
 * Provider models by what they are built from. Creating a provider builds its response
 * schemas, which cost more than a small call, so each LLM call reuses the model (models hold
 * configuration only; every call's state lives in the call).
 */
const models = new Map<string, ProviderLanguageModel>();
const MAX_CACHED_MODELS = 32;

function buildProviderModel(
  route: ProviderRoute,
  apiKey: string | undefined,
  apiVersion: string | undefined,
): ProviderLanguageModel {
  switch (route.kind) {
    case 'openai':
      return createOpenAI({ apiKey }).chat(route.modelId);
    case 'anthropic':
      return createAnthropic({ apiKey })(route.modelId);
    case 'openai-compatible':
      return createOpenAICompatible({
        name: compatibleProviderName,
        baseURL: route.baseUrl,
        apiKey,
        includeUsage: true,
        // Azure-style endpoints take the API version as a query parameter.
        ...(apiVersion === undefined ? {} : { queryParams: { 'api-version': apiVersion } }),
      }).chatModel(route.modelId);
  }
}

/** A key that can be sent: absent, empty and redacted (`**********`) keys are not. */
function usableApiKey(apiKey: string | null | undefined): string | undefined {
  if (apiKey === undefined || apiKey === null || apiKey === '' || apiKey === REDACTED_SECRET) {
    return undefined;
  }
  return apiKey;
}

/**
 * The key to give the provider. `undefined` lets the AI SDK read its usual environment variable,
 * which is only allowed when that variable is set: otherwise the call could only fail later
 * with a less helpful message.
 */
function requireApiKey(
  llm: LLM,
  apiKey: string | undefined,
  provider: keyof typeof API_KEY_VARIABLES,
): string | undefined {
  const variable = API_KEY_VARIABLES[provider];
  if (apiKey !== undefined) return apiKey;
  if (process.env[variable]) return undefined;
  throw new LLMCredentialsMissingError(variable, { usageId: llm.usage_id, model: llm.model });
}
