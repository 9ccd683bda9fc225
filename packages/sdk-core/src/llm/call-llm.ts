import type { LanguageModelV3FunctionTool } from '@ai-sdk/provider';
import type { JSONSchema7, ModelMessage } from 'ai';
import { LLMAbortedError } from '../errors/llm-aborted-error';
import { LLMTimeoutError } from '../errors/llm-timeout-error';
import { collectStream, type LLMReasoningPart, type LLMToolCall } from './collect-stream';
import { createProviderModel, type ProviderLanguageModel } from './create-language-model';
import type { LLM } from './llm-schema';
import { computeCost, tokenCounts, type TokenCounts } from './llm-usage';
import { resolveModelRoute, type ModelRoute } from './model-route';
import { providerIdentity } from './provider-identity';
import { buildProviderOptions, samplingSettings } from './provider-options';
import { toProviderPrompt } from './provider-prompt';
import { retryCall } from './retry-call';
import { toLLMError } from './to-llm-error';

export type { LLMReasoningPart, LLMToolCall } from './collect-stream';
export { createLanguageModel } from './create-language-model';
export { providerIdentity } from './provider-identity';

/** Retries of a call whose LLM document sets no `num_retries`. */
export const DEFAULT_NUM_RETRIES = 3;

const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Makes the AI SDK model (a `LanguageModelV3`, e.g. `google('gemini-2.5-pro')` from
 * `@ai-sdk/google`) for an LLM document, instead of Ferry's own routing (`openai/…`,
 * `anthropic/…`, `base_url`). Return `undefined` to let Ferry route that document. The document
 * still names the model in events, usage and cost; only the call goes to the returned model.
 */
export type LanguageModelFactory = (llm: LLM) => ProviderLanguageModel | undefined;

/** A tool offered to the model. */
export interface LLMToolSpec {
  name: string;
  description: string;
  /** A plain JSON schema object of the tool's arguments. */
  inputSchema: JSONSchema7;
}

/** One LLM call. */
export interface LLMCallRequest {
  /** The LLM document. */
  llm: LLM;
  /** The system prompt. */
  system: string;
  /** The conversation so far (user, assistant and tool messages). */
  messages: ModelMessage[];
  tools: LLMToolSpec[];
  /** Aborts the call at once (`LLMAbortedError`). */
  signal?: AbortSignal;
  /** Receives streamed text as it arrives; it is never persisted. */
  onTextDelta?: (delta: string) => void;
  /** Makes the model to call instead of the one the document routes to (see {@link LanguageModelFactory}). */
  languageModel?: LanguageModelFactory | undefined;
}

/** Usage of one call, for the `stats` of its `usageId`. */
export interface LLMUsage extends TokenCounts {
  /** USD, when a price is known (see `computeCost`). */
  cost?: number;
  /** Seconds from the start of the call to the end of the response, retries included. */
  latency: number;
  model: string;
  usageId: string;
}

/** The model's response. */
export interface LLMCallResult {
  text: string;
  /** The reasoning text, if the provider returned any. */
  reasoning?: string;
  /** Provider-bound reasoning parts, to be replayed only to the same `provider`. */
  reasoningParts: LLMReasoningPart[];
  toolCalls: LLMToolCall[];
  /** The AI SDK's finish reason: `stop`, `length`, `tool-calls`, `content-filter`, `other`. */
  finishReason: string;
  responseId?: string;
  /** `providerIdentity(llm)`. */
  provider: string;
  usage: LLMUsage;
}

/**
 * Calls the LLM once with the given history and tools, streaming text to `onTextDelta`.
 *
 * Tool calls are returned, never executed or validated: each keeps its raw argument text, even
 * invalid JSON or a call to an unknown tool, so the caller can answer it with an error the
 * model can read. 429 and 5xx answers are retried `num_retries` times (default 3) with
 * exponential backoff that honours `Retry-After` / `retry-after-ms`. `timeout` (seconds) bounds
 * the whole call, retries included.
 *
 * Failures are typed: `LLMConfigurationError`, `LLMCredentialsMissingError`,
 * `LLMAuthenticationError`, `LLMRateLimitError`, `LLMContextWindowError`, `LLMTimeoutError`,
 * `LLMAbortedError` (the caller's signal) and `LLMProviderError` for anything else.
 */
export async function callLLM(request: LLMCallRequest): Promise<LLMCallResult> {
  const { llm } = request;
  const context = { usageId: llm.usage_id, model: llm.model };
  const custom = request.languageModel?.(llm);
  let route: ModelRoute;
  let model: ProviderLanguageModel;
  if (custom === undefined) {
    const providerRoute = resolveModelRoute(llm);
    route = providerRoute;
    model = createProviderModel(llm, providerRoute);
  } else {
    route = { kind: 'custom', modelId: custom.modelId };
    model = custom;
  }
  const prompt = toProviderPrompt(request.system, request.messages, context);
  const tools = toProviderTools(request.tools);
  if (request.signal?.aborted === true) throw new LLMAbortedError(context);

  const timeoutSeconds = llm.timeout ?? undefined;
  const timeout = new AbortController();
  // Node fires longer timers at once, so a timeout past about 24 days means none.
  const timer =
    timeoutSeconds === undefined || timeoutSeconds * 1000 > MAX_TIMER_MS
      ? undefined
      : setTimeout(() => timeout.abort(timeoutReason(timeoutSeconds)), timeoutSeconds * 1000);
  const signal =
    request.signal === undefined
      ? timeout.signal
      : AbortSignal.any([request.signal, timeout.signal]);
  const interruption = () => {
    if (request.signal?.aborted === true) return new LLMAbortedError(context);
    if (timeout.signal.aborted) return new LLMTimeoutError(timeoutSeconds ?? 0, context);
    return undefined;
  };

  let listenerFailure: { error: unknown } | undefined;
  const onTextDelta = request.onTextDelta;
  const started = performance.now();
  try {
    // The provider model is called directly rather than through `streamText`: Ferry's
    // messages are valid by construction, and `streamText` validates the whole history on every
    // call (see `toProviderPrompt`). Retries wrap the request, as `streamText` does.
    const { stream } = await retryCall(
      () =>
        model.doStream({
          prompt,
          ...(tools === undefined ? {} : { tools, toolChoice: { type: 'auto' } }),
          ...samplingSettings(llm, route),
          maxOutputTokens: llm.max_output_tokens ?? undefined,
          providerOptions: buildProviderOptions(llm, route),
          abortSignal: signal,
        }),
      { maxRetries: llm.num_retries ?? DEFAULT_NUM_RETRIES, signal },
    );
    const outcome = await collectStream({
      stream,
      signal,
      onTextDelta:
        onTextDelta &&
        ((delta) => {
          try {
            onTextDelta(delta);
          } catch (error) {
            listenerFailure = { error };
            throw error;
          }
        }),
    });
    if (outcome.kind === 'aborted') throw interruption() ?? new LLMAbortedError(context);
    if (outcome.kind === 'failed') throw outcome.error;

    const { response } = outcome;
    const tokens = tokenCounts(response.usage);
    const reasoning = response.reasoningParts.map((part) => part.text).join('');
    const cost = computeCost({ llm, modelId: route.modelId, tokens });
    return {
      text: response.text,
      ...(reasoning === '' ? {} : { reasoning }),
      reasoningParts: response.reasoningParts,
      toolCalls: response.toolCalls,
      finishReason: response.finishReason,
      ...(response.responseId === undefined ? {} : { responseId: response.responseId }),
      provider: providerIdentity(llm),
      usage: {
        ...tokens,
        ...(cost === undefined ? {} : { cost }),
        latency: (performance.now() - started) / 1000,
        model: llm.model,
        usageId: llm.usage_id,
      },
    };
  } catch (error) {
    if (listenerFailure !== undefined) throw listenerFailure.error;
    throw interruption() ?? toLLMError(error, context);
  } finally {
    clearTimeout(timer);
  }
}

/** Function tools for the provider; the caller checks and runs the calls. */
function toProviderTools(tools: readonly LLMToolSpec[]): LanguageModelV3FunctionTool[] | undefined {
  if (tools.length === 0) return undefined;
  return tools.map((spec) => ({
    type: 'function',
    name: spec.name,
    description: spec.description,
    inputSchema: spec.inputSchema,
  }));
}

function timeoutReason(seconds: number): DOMException {
  return new DOMException(`The LLM call timed out after ${seconds} s`, 'TimeoutError');
}
