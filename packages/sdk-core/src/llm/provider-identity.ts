import type { LLM } from './llm-schema';
import { resolveModelRoute } from './model-route';

/**
 * The provider an LLM document talks to: `openai`, `anthropic` or
 * `openai-compatible:<base_url>`. Events record it, so provider-bound fields (thinking
 * signatures, encrypted reasoning, response ids) are only replayed to the provider that made
 * them. Never throws: a document Ferry cannot route gets its provider prefix as identity.
 */
export function providerIdentity(llm: LLM): string {
  try {
    const route = resolveModelRoute(llm);
    return route.kind === 'openai-compatible' ? `openai-compatible:${route.baseUrl}` : route.kind;
  } catch {
    return llm.model.split('/')[0] ?? llm.model;
  }
}
