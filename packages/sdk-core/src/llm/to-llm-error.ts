import { APICallError, RetryError } from 'ai';
import { LLMAuthenticationError } from '../errors/llm-authentication-error';
import { LLMContextWindowError } from '../errors/llm-context-window-error';
import { LLMError, type LLMErrorContext } from '../errors/llm-error';
import { LLMProviderError } from '../errors/llm-provider-error';
import { LLMRateLimitError } from '../errors/llm-rate-limit-error';

/** What OpenAI, Anthropic, LiteLLM, vLLM and others say when the prompt is too long. */
const CONTEXT_WINDOW_PATTERNS = [
  /context_length_exceeded/i,
  /maximum context length/i,
  /context (window|length)/i,
  /prompt is too long/i,
  /input is too long/i,
  /too many (input )?tokens/i,
  /exceeds? the (model's )?(max(imum)?|context)/i,
  /reduce the length of the (messages|prompt)/i,
];

/**
 * Maps a failure of the AI SDK to a typed LLM error carrying the provider's message. A
 * `RetryError` stands for its last error; `attempts` counts every request sent.
 */
export function toLLMError(error: unknown, context: Omit<LLMErrorContext, 'cause'>): LLMError {
  if (LLMError.isInstance(error)) return error;
  const last = RetryError.isInstance(error) ? error.lastError : error;
  const attempts = RetryError.isInstance(error) ? error.errors.length : 1;
  const full = { ...context, providerMessage: messageOf(last), cause: error };

  const status = APICallError.isInstance(last) ? last.statusCode : undefined;
  if (status === 401 || status === 403) return new LLMAuthenticationError(status, full);
  if (status === 429) return new LLMRateLimitError(attempts, full);
  if ((status === undefined || (status >= 400 && status < 500)) && isContextWindowError(last)) {
    return new LLMContextWindowError(status, full);
  }
  return new LLMProviderError(status, full);
}

function isContextWindowError(error: unknown): boolean {
  const texts = [messageOf(error)];
  if (APICallError.isInstance(error) && error.responseBody !== undefined) {
    texts.push(error.responseBody);
  }
  return texts.some((text) => CONTEXT_WINDOW_PATTERNS.some((pattern) => pattern.test(text)));
}

/** Stream errors may be plain objects, e.g. an OpenAI-style `{ message, type, code }`. */
function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'string') return error;
  if (typeof error === 'object' && error !== null && 'message' in error) {
    if (typeof error.message === 'string') return error.message;
  }
  try {
    return JSON.stringify(error) ?? String(error);
  } catch {
    return String(error);
  }
}
