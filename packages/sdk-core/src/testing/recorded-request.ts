import type { IncomingHttpHeaders } from 'node:http';
import { z } from 'zod';

/** A message of a recorded request, as the client sent it (OpenAI Chat Completions shape). */
export const recordedMessageSchema = z.looseObject({
  role: z.string(),
  content: z.unknown().optional(),
  tool_calls: z
    .array(
      z.looseObject({
        id: z.string().optional(),
        type: z.string().optional(),
        function: z.looseObject({ name: z.string(), arguments: z.string() }),
      }),
    )
    .optional(),
  tool_call_id: z.string().optional(),
});
export type RecordedMessage = z.infer<typeof recordedMessageSchema>;

/** A tool offered in a recorded request. */
export const recordedToolSchema = z.looseObject({
  type: z.string(),
  function: z
    .looseObject({
      name: z.string(),
      description: z.string().optional(),
      parameters: z.unknown().optional(),
      strict: z.boolean().optional(),
    })
    .optional(),
});
export type RecordedTool = z.infer<typeof recordedToolSchema>;

/** The fields of a chat completion request the kit checks; anything else is kept in `body`. */
export const chatCompletionRequestSchema = z.looseObject({
  model: z.string().optional(),
  messages: z.array(recordedMessageSchema),
  tools: z.array(recordedToolSchema).optional(),
  tool_choice: z.unknown().optional(),
  temperature: z.number().nullable().optional(),
  top_p: z.number().nullable().optional(),
  max_tokens: z.number().nullable().optional(),
  max_completion_tokens: z.number().nullable().optional(),
  stream: z.boolean().nullable().optional(),
  stream_options: z.looseObject({ include_usage: z.boolean().optional() }).nullable().optional(),
  reasoning_effort: z.string().nullable().optional(),
});

/** A chat completion request the scripted server received, in arrival order. */
export interface RecordedRequest {
  /** The request path, e.g. `/v1/chat/completions`. */
  path: string;
  /** Lower-cased header names; credentials are redacted (`authorization: 'Bearer ***'`). */
  headers: Record<string, string>;
  /** The parsed JSON body, or the raw text when it is not JSON. */
  body: unknown;
  model: string | undefined;
  messages: RecordedMessage[];
  tools: RecordedTool[] | undefined;
  tool_choice: unknown;
  temperature: number | undefined;
  top_p: number | undefined;
  max_tokens: number | undefined;
  max_completion_tokens: number | undefined;
  stream: boolean;
  /** Whether the client asked for a final usage chunk (`stream_options.include_usage`). */
  include_usage: boolean;
  reasoning_effort: string | undefined;
}

/** A recorded request, plus why it is invalid when it is. */
export interface ParsedRequest {
  request: RecordedRequest;
  problem: string | undefined;
}

const CREDENTIAL_HEADERS = new Set(['authorization', 'x-api-key', 'api-key']);

/** Records a request whatever its body; `problem` says why it cannot be answered, if so. */
export function parseRequest(options: {
  path: string;
  headers: IncomingHttpHeaders;
  rawBody: string;
}): ParsedRequest {
  const headers = redactHeaders(options.headers);
  const empty: RecordedRequest = {
    path: options.path,
    headers,
    body: options.rawBody,
    model: undefined,
    messages: [],
    tools: undefined,
    tool_choice: undefined,
    temperature: undefined,
    top_p: undefined,
    max_tokens: undefined,
    max_completion_tokens: undefined,
    stream: false,
    include_usage: false,
    reasoning_effort: undefined,
  };

  let body: unknown;
  try {
    body = JSON.parse(options.rawBody);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return {
      request: empty,
      problem: `scripted LLM: the request body is not valid JSON (${reason}).`,
    };
  }

  const parsed = chatCompletionRequestSchema.safeParse(body);
  if (!parsed.success) {
    return {
      request: { ...empty, body },
      problem: `scripted LLM: invalid chat completion request: ${z.prettifyError(parsed.error)}`,
    };
  }
  const fields = parsed.data;
  return {
    request: {
      path: options.path,
      headers,
      body,
      model: fields.model,
      messages: fields.messages,
      tools: fields.tools,
      tool_choice: fields.tool_choice,
      temperature: fields.temperature ?? undefined,
      top_p: fields.top_p ?? undefined,
      max_tokens: fields.max_tokens ?? undefined,
      max_completion_tokens: fields.max_completion_tokens ?? undefined,
      stream: fields.stream ?? false,
      include_usage: fields.stream_options?.include_usage ?? false,
      reasoning_effort: fields.reasoning_effort ?? undefined,
    },
    problem: undefined,
  };
}

function redactHeaders(headers: IncomingHttpHeaders): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    const joined = Array.isArray(value) ? value.join(', ') : value;
    result[name] = CREDENTIAL_HEADERS.has(name) ? redact(joined) : joined;
  }
  return result;
}

/** Keeps the auth scheme so tests can still see that a key was sent, never the key itself. */
function redact(value: string): string {
  const scheme = /^(\w+)\s+\S/.exec(value)?.[1];
  return scheme === undefined ? '***' : `${scheme} ***`;
}
