import { APICallError } from '@ai-sdk/provider';
import { retryWithExponentialBackoff } from '@ai-sdk/provider-utils';
import { RetryError } from 'ai';

/** The first retry waits this long (then twice as long each time), as the AI SDK does. */
const INITIAL_DELAY_MS = 2000;
/** A `Retry-After` longer than this is not honoured (the backoff delay is used instead). */
const MAX_RETRY_AFTER_MS = 60_000;

/**
 * Runs `call`, retrying it `maxRetries` times with exponential backoff when the provider
 * answered with a retryable status (429, 5xx, as the provider's `APICallError` says). A
 * `Retry-After` or `retry-after-ms` header of up to a minute sets the wait. When every attempt
 * failed, throws a `RetryError` holding each error; a non-retryable error is thrown as it is.
 */
export async function retryCall<T>(
  call: () => PromiseLike<T>,
  options: { maxRetries: number; signal: AbortSignal },
): Promise<T> {
  const retry = retryWithExponentialBackoff({
    maxRetries: options.maxRetries,
    initialDelayInMs: INITIAL_DELAY_MS,
    backoffFactor: 2,
    abortSignal: options.signal,
    shouldRetry: (error) => Promise.resolve(APICallError.isInstance(error) && error.isRetryable),
    getDelayInMs: ({ error, exponentialBackoffDelay }) =>
      retryAfterMs(error) ?? exponentialBackoffDelay,
    createRetryError: ({ message, reason, errors }) => new RetryError({ message, reason, errors }),
  });
  return await retry(call);
}

/** The wait the provider asked for, in ms, if it asked for one of at most a minute. */
function retryAfterMs(error: unknown): number | undefined {
  const headers = APICallError.isInstance(error) ? error.responseHeaders : undefined;
  if (headers === undefined) return undefined;
  let ms: number | undefined;
  const retryAfterMsHeader = headers['retry-after-ms'];
  if (retryAfterMsHeader !== undefined) {
    const value = Number.parseFloat(retryAfterMsHeader);
    if (!Number.isNaN(value)) ms = value;
  }
  const retryAfter = headers['retry-after'];
  if (ms === undefined && retryAfter !== undefined) {
    const seconds = Number.parseFloat(retryAfter);
    ms = Number.isNaN(seconds) ? Date.parse(retryAfter) - Date.now() : seconds * 1000;
  }
  return ms !== undefined && !Number.isNaN(ms) && ms >= 0 && ms <= MAX_RETRY_AFTER_MS
    ? ms
    : undefined;
}
