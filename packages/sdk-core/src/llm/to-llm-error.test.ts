import { APICallError, RetryError } from 'ai';
import { describe, expect, it } from 'vitest';
import { LLMAuthenticationError } from '../errors/llm-authentication-error';
import { LLMContextWindowError } from '../errors/llm-context-window-error';
import { LLMProviderError } from '../errors/llm-provider-error';
import { LLMRateLimitError } from '../errors/llm-rate-limit-error';
import { toLLMError } from './to-llm-error';

const context = { usageId: 'default', model: 'anthropic/claude-sonnet-4-5' };

function apiError(statusCode: number, message: string, responseBody?: string) {
  return new APICallError({
    message,
    url: 'https://api.anthropic.com/v1/messages',
    requestBodyValues: {},
    statusCode,
    responseBody,
  });
}

describe('toLLMError', () => {
  it("recognises Anthropic's prompt-too-long error", () => {
    const error = toLLMError(
      apiError(400, 'prompt is too long: 208310 tokens > 200000 maximum'),
      context,
    );
    expect(LLMContextWindowError.isInstance(error)).toBe(true);
    expect(error.providerMessage).toBe('prompt is too long: 208310 tokens > 200000 maximum');
  });

  it('recognises context_length_exceeded in the response body', () => {
    const body = JSON.stringify({
      error: { message: 'Bad request', code: 'context_length_exceeded' },
    });
    expect(toLLMError(apiError(400, 'Bad request', body), context)).toBeInstanceOf(
      LLMContextWindowError,
    );
  });

  it('keeps other 400s as provider errors with their status', () => {
    const error = toLLMError(apiError(400, "Invalid value for 'tool_choice'"), context);
    expect(LLMProviderError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ status: 400 });
  });

  it('maps 403 to an authentication error', () => {
    expect(toLLMError(apiError(403, 'permission denied'), context)).toBeInstanceOf(
      LLMAuthenticationError,
    );
  });

  it('unwraps a RetryError to its last error and counts the attempts', () => {
    const retry = new RetryError({
      message: 'Failed after 3 attempts',
      reason: 'maxRetriesExceeded',
      errors: [apiError(529, 'Overloaded'), apiError(529, 'Overloaded'), apiError(429, 'slow')],
    });
    const error = toLLMError(retry, context);
    expect(LLMRateLimitError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ attempts: 3, providerMessage: 'slow' });
    expect(error.cause).toBe(retry);
  });

  it('maps a failure without an HTTP status to a provider error', () => {
    const error = toLLMError({ message: 'stream broke', type: 'server_error' }, context);
    expect(LLMProviderError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ status: undefined, providerMessage: 'stream broke' });
  });
});
