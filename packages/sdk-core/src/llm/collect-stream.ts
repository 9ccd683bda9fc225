import type { LanguageModelV3StreamPart, LanguageModelV3Usage } from '@ai-sdk/provider';

/** A reasoning part as the provider returned it, with its provider-bound details. */
export interface LLMReasoningPart {
  text: string;
  /** E.g. `{ anthropic: { signature } }` or `{ anthropic: { redactedData } }`. */
  providerOptions?: Record<string, Record<string, unknown>>;
}

/** A tool call the model asked for. */
export interface LLMToolCall {
  id: string;
  name: string;
  /** The raw JSON text the model produced, even if invalid. */
  arguments: string;
}

/** What a complete response stream held. */
export interface CollectedResponse {
  text: string;
  reasoningParts: LLMReasoningPart[];
  toolCalls: LLMToolCall[];
  finishReason: string;
  responseId: string | undefined;
  usage: LanguageModelV3Usage | undefined;
}

/** How the stream ended: complete, aborted through the signal, or failed. */
export type StreamOutcome =
  | { kind: 'complete'; response: CollectedResponse }
  | { kind: 'aborted' }
  | { kind: 'failed'; error: unknown };

/**
 * Reads a provider's response stream (the AI SDK's `LanguageModelV3` stream parts) to its end.
 * Tool calls keep their argument text exactly as the provider sent it, valid JSON or not, and
 * calls to unknown tools are kept too: the caller answers them with an error the model reads.
 * The stream ends aborted when `signal` fires.
 */
export async function collectStream(options: {
  stream: AsyncIterable<LanguageModelV3StreamPart>;
  onTextDelta?: ((delta: string) => void) | undefined;
  signal?: AbortSignal | undefined;
}): Promise<StreamOutcome> {
  let text = '';
  const reasoningParts: LLMReasoningPart[] = [];
  const activeReasoning = new Map<string, LLMReasoningPart>();
  const toolCalls: LLMToolCall[] = [];
  let responseId: string | undefined;

  for await (const part of options.stream) {
    if (options.signal?.aborted === true) return { kind: 'aborted' };
    switch (part.type) {
      case 'text-delta':
        text += part.delta;
        options.onTextDelta?.(part.delta);
        break;
      case 'reasoning-start': {
        const reasoning: LLMReasoningPart = { text: '' };
        setProviderOptions(reasoning, part.providerMetadata);
        reasoningParts.push(reasoning);
        activeReasoning.set(part.id, reasoning);
        break;
      }
      case 'reasoning-delta':
      case 'reasoning-end': {
        const reasoning = activeReasoning.get(part.id);
        if (reasoning === undefined) break;
        if (part.type === 'reasoning-delta') reasoning.text += part.delta;
        // Like the AI SDK: the latest metadata wins (Anthropic sends the signature last).
        setProviderOptions(reasoning, part.providerMetadata);
        if (part.type === 'reasoning-end') activeReasoning.delete(part.id);
        break;
      }
      case 'tool-call':
        if (part.providerExecuted === true) break;
        toolCalls.push({ id: part.toolCallId, name: part.toolName, arguments: part.input });
        break;
      case 'response-metadata':
        if (part.id !== undefined) responseId = part.id;
        break;
      case 'finish':
        return {
          kind: 'complete',
          response: {
            text,
            reasoningParts,
            toolCalls,
            finishReason: part.finishReason.unified,
            responseId,
            usage: part.usage,
          },
        };
      case 'error':
        return { kind: 'failed', error: part.error };
      default:
        break;
    }
  }
  if (options.signal?.aborted === true) return { kind: 'aborted' };
  return { kind: 'failed', error: new Error('the response stream ended before it finished') };
}

function setProviderOptions(
  reasoning: LLMReasoningPart,
  metadata: Record<string, Record<string, unknown>> | undefined,
) {
  if (metadata !== undefined) reasoning.providerOptions = metadata;
}
