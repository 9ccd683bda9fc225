import type { RecordedRequest } from './recorded-request';
import type { TurnUsage } from './script-turn';

/** A text or tool-call turn with its tool call ids settled, ready to be sent. */
export interface Reply {
  content: string | undefined;
  reasoning: string | undefined;
  toolCalls: { id: string; name: string; arguments: string }[];
  finishReason: 'stop' | 'length' | 'content_filter' | 'tool_calls';
  usage: TurnUsage | undefined;
}

/** Identity fields shared by a response and all its chunks. */
export interface ResponseIdentity {
  id: string;
  created: number;
  model: string;
}

/** OpenAI's `usage` object. */
export interface CompletionUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number };
  completion_tokens_details: { reasoning_tokens: number };
}

/** An OpenAI-style error body: `{ error: { message, type, code, param } }`. */
export function errorBody(options: {
  message: string;
  type?: string | undefined;
  code?: string | null | undefined;
  param?: string | null | undefined;
}) {
  return {
    error: {
      message: options.message,
      type: options.type ?? 'invalid_request_error',
      code: options.code ?? null,
      param: options.param ?? null,
    },
  };
}

/**
 * Deterministic usage: about one token per four characters of the messages and of the output,
 * unless the turn overrides a count.
 */
export function computeUsage(request: RecordedRequest, reply: Reply): CompletionUsage {
  const output =
    (reply.content ?? '') +
    reply.toolCalls.map((call) => call.name + call.arguments).join('') +
    (reply.reasoning ?? '');
  const promptTokens =
    reply.usage?.promptTokens ?? Math.max(1, estimateTokens(JSON.stringify(request.messages)));
  const reasoningTokens = reply.usage?.reasoningTokens ?? estimateTokens(reply.reasoning ?? '');
  const completionTokens = reply.usage?.completionTokens ?? estimateTokens(output);
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completionTokens,
    total_tokens: promptTokens + completionTokens,
    prompt_tokens_details: { cached_tokens: reply.usage?.cachedTokens ?? 0 },
    completion_tokens_details: { reasoning_tokens: reasoningTokens },
  };
}

function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/** The non-streaming `chat.completion` body. */
export function completionBody(identity: ResponseIdentity, reply: Reply, usage: CompletionUsage) {
  return {
    id: identity.id,
    object: 'chat.completion',
    created: identity.created,
    model: identity.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: reply.content ?? null,
          ...(reply.reasoning === undefined ? {} : { reasoning_content: reply.reasoning }),
          ...(reply.toolCalls.length === 0
            ? {}
            : {
                tool_calls: reply.toolCalls.map((call) => ({
                  id: call.id,
                  type: 'function',
                  function: { name: call.name, arguments: call.arguments },
                })),
              }),
          refusal: null,
        },
        logprobs: null,
        finish_reason: reply.finishReason,
      },
    ],
    usage,
  };
}

/**
 * The `chat.completion.chunk`s of a streamed reply, in order: the role, reasoning and text split
 * into word-sized deltas, each tool call's id and name then its arguments in pieces, the finish
 * reason, and the usage chunk when the client asked for it.
 */
export function completionChunks(
  identity: ResponseIdentity,
  reply: Reply,
  usage: CompletionUsage | undefined,
): object[] {
  const chunk = (delta: object, finishReason: string | null = null) => ({
    id: identity.id,
    object: 'chat.completion.chunk',
    created: identity.created,
    model: identity.model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
  });

  const chunks: object[] = [chunk({ role: 'assistant', content: null, refusal: null })];
  for (const piece of splitIntoWords(reply.reasoning ?? '')) {
    chunks.push(chunk({ reasoning_content: piece }));
  }
  for (const piece of splitIntoWords(reply.content ?? '')) {
    chunks.push(chunk({ content: piece }));
  }
  reply.toolCalls.forEach((call, index) => {
    chunks.push(
      chunk({
        tool_calls: [
          { index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } },
        ],
      }),
    );
    for (const piece of splitIntoPieces(call.arguments, 3)) {
      chunks.push(chunk({ tool_calls: [{ index, function: { arguments: piece } }] }));
    }
  });
  chunks.push(chunk({}, reply.finishReason));
  if (usage !== undefined) {
    chunks.push({
      id: identity.id,
      object: 'chat.completion.chunk',
      created: identity.created,
      model: identity.model,
      choices: [],
      usage,
    });
  }
  return chunks;
}

/** Splits text into words with their trailing spaces; joining the parts gives the text back. */
export function splitIntoWords(text: string): string[] {
  return text.match(/\S+\s*|\s+/g) ?? [];
}

/** Splits text into at most `count` pieces of similar length. */
export function splitIntoPieces(text: string, count: number): string[] {
  const size = Math.max(1, Math.ceil(text.length / count));
  const pieces: string[] = [];
  for (let start = 0; start < text.length; start += size) {
    pieces.push(text.slice(start, start + size));
  }
  return pieces;
}
