import { z } from 'zod';

/** Token counts a turn reports instead of the estimated ones; unset fields keep the estimate. */
export const turnUsageSchema = z.object({
  promptTokens: z.number().int().nonnegative().optional(),
  completionTokens: z.number().int().nonnegative().optional(),
  cachedTokens: z.number().int().nonnegative().optional(),
  reasoningTokens: z.number().int().nonnegative().optional(),
});
export type TurnUsage = z.infer<typeof turnUsageSchema>;

/** Options every turn accepts. */
export const turnTimingSchema = z.object({
  /** Wait this long before answering; the wait ends early if the client disconnects. */
  delayMs: z.number().nonnegative().optional(),
});
export type TurnTiming = z.infer<typeof turnTimingSchema>;

const replyOptionsSchema = turnTimingSchema.extend({
  /** Sent as `reasoning_content` (DeepSeek style) before the reply. */
  reasoning: z.string().optional(),
  usage: turnUsageSchema.optional(),
});

export const textTurnSchema = replyOptionsSchema.extend({
  kind: z.literal('text'),
  content: z.string(),
  finishReason: z.enum(['stop', 'length', 'content_filter']).optional(),
});
/** The assistant answers with text. */
export type TextTurn = z.infer<typeof textTurnSchema>;

export const scriptedToolCallSchema = z.object({
  name: z.string().min(1),
  /** The raw `function.arguments` string, sent as is (it may be invalid JSON on purpose). */
  arguments: z.string(),
  /** Defaults to `call_1`, `call_2`, ...: numbered per server, in the order turns are used. */
  id: z.string().min(1).optional(),
});
export type ScriptedToolCall = z.infer<typeof scriptedToolCallSchema>;

export const toolCallsTurnSchema = replyOptionsSchema.extend({
  kind: z.literal('tool-calls'),
  toolCalls: z.array(scriptedToolCallSchema).min(1),
  /** Text sent alongside the tool calls, as some models do. */
  content: z.string().optional(),
});
/** The assistant asks for one or more tool calls (`finish_reason: 'tool_calls'`). */
export type ToolCallsTurn = z.infer<typeof toolCallsTurnSchema>;

export const httpErrorTurnSchema = turnTimingSchema.extend({
  kind: z.literal('http-error'),
  status: z.number().int().min(400).max(599),
  message: z.string(),
  type: z.string().optional(),
  code: z.string().nullable().optional(),
  param: z.string().nullable().optional(),
  /** Seconds, sent as the `Retry-After` header. */
  retryAfter: z.number().nonnegative().optional(),
  headers: z.record(z.string(), z.string()).optional(),
});
/** The server answers with an OpenAI-style error body and this HTTP status. */
export type HttpErrorTurn = z.infer<typeof httpErrorTurnSchema>;

export const scriptTurnSchema = z.discriminatedUnion('kind', [
  textTurnSchema,
  toolCallsTurnSchema,
  httpErrorTurnSchema,
]);
/** One scripted answer of the LLM server; each chat completion request uses one turn. */
export type ScriptTurn = z.infer<typeof scriptTurnSchema>;

/** Options of `text()`. */
export type TextOptions = Omit<TextTurn, 'kind' | 'content'>;

/** Options of `toolCall()` and `toolCalls()`. */
export type ToolCallsOptions = Omit<ToolCallsTurn, 'kind' | 'toolCalls'>;

/** A tool call to script: `args` is serialised to JSON, or sent as is when it is a string. */
export interface ToolCallSpec {
  name: string;
  args: Record<string, unknown> | string;
  id?: string;
}

/** A reply of plain text, e.g. `text('Done.')`. */
export function text(content: string, options: TextOptions = {}): TextTurn {
  return { ...options, kind: 'text', content };
}

/**
 * A reply asking for one tool call, e.g. `toolCall('read_file', { path: 'a.txt' })`.
 * Pass a string as `args` to send malformed arguments.
 */
export function toolCall(
  name: string,
  args: Record<string, unknown> | string,
  options: ToolCallsOptions & { id?: string } = {},
): ToolCallsTurn {
  const { id, ...turnOptions } = options;
  return toolCalls([{ name, args, id }], turnOptions);
}

/** A reply asking for several tool calls at once (parallel tool calls). */
export function toolCalls(
  calls: readonly ToolCallSpec[],
  options: ToolCallsOptions = {},
): ToolCallsTurn {
  return {
    ...options,
    kind: 'tool-calls',
    toolCalls: calls.map(({ name, args, id }) => ({
      name,
      arguments: typeof args === 'string' ? args : JSON.stringify(args),
      ...(id === undefined ? {} : { id }),
    })),
  };
}

/** Options of `httpError()`. */
export type HttpErrorOptions = Partial<Omit<HttpErrorTurn, 'kind' | 'status'>>;

/**
 * An HTTP error with an OpenAI-style body, e.g.
 * `httpError(429, { message: 'Rate limit reached', retryAfter: 0 })`.
 */
export function httpError(status: number, options: HttpErrorOptions = {}): HttpErrorTurn {
  return {
    type: defaultErrorType(status),
    ...options,
    kind: 'http-error',
    status,
    message: options.message ?? `scripted LLM: HTTP ${status}`,
  };
}

/** The 400 error OpenAI sends when the prompt does not fit the model's context window. */
export function contextWindowExceeded(
  options: TurnTiming & { contextWindow?: number; promptTokens?: number } = {},
): HttpErrorTurn {
  const { contextWindow = 128_000, promptTokens = contextWindow + 1_000, ...timing } = options;
  return {
    ...timing,
    kind: 'http-error',
    status: 400,
    type: 'invalid_request_error',
    code: 'context_length_exceeded',
    param: 'messages',
    message:
      `This model's maximum context length is ${contextWindow} tokens. However, your messages ` +
      `resulted in ${promptTokens} tokens. Please reduce the length of the messages.`,
  };
}

function defaultErrorType(status: number): string {
  if (status === 429) return 'rate_limit_exceeded';
  if (status === 401) return 'authentication_error';
  return status >= 500 ? 'server_error' : 'invalid_request_error';
}
