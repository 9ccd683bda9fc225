import type { LanguageModelUsage, TextStreamPart, ToolSet } from 'ai';

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
  usage: LanguageModelUsage | undefined;
}

/** How the stream ended: complete, aborted through the signal, or failed. */
export type StreamOutcome =
  | { kind: 'complete'; response: CollectedResponse }
  | { kind: 'aborted' }
  | { kind: 'failed'; error: unknown };

/**
 * Reads a `streamText` full stream to its end. Invalid tool calls (bad JSON, unknown tool) are
 * ordinary `tool-call` parts marked `invalid`, followed by a `tool-error` part: both are kept
 * as calls, not failures. `rawInput` gives a call's argument text as the provider sent it.
 */
export async function collectStream(options: {
  stream: AsyncIterable<TextStreamPart<ToolSet>>;
  rawInput: (toolCallId: string) => string | undefined;
  onTextDelta?: ((delta: string) => void) | undefined;
}): Promise<StreamOutcome> {
  let text = '';
  const reasoningParts: LLMReasoningPart[] = [];
  const activeReasoning = new Map<string, LLMReasoningPart>();
  const toolCalls: LLMToolCall[] = [];
  let responseId: string | undefined;

  for await (const part of options.stream) {
    switch (part.type) {
      case 'text-delta':
        text += part.text;
        options.onTextDelta?.(part.text);
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
        if (part.type === 'reasoning-delta') reasoning.text += part.text;
        // Like the AI SDK: the latest metadata wins (Anthropic sends the signature last).
        setProviderOptions(reasoning, part.providerMetadata);
        if (part.type === 'reasoning-end') activeReasoning.delete(part.id);
        break;
      }
      case 'tool-call':
        if (part.providerExecuted === true) break;
        toolCalls.push({
          id: part.toolCallId,
          name: part.toolName,
          arguments: options.rawInput(part.toolCallId) ?? argumentsText(part.input),
        });
        break;
      case 'finish-step':
        responseId = part.response.id;
        break;
      case 'finish':
        return {
          kind: 'complete',
          response: {
            text,
            reasoningParts,
            toolCalls,
            finishReason: part.finishReason,
            responseId,
            usage: part.totalUsage,
          },
        };
      case 'error':
        return { kind: 'failed', error: part.error };
      case 'abort':
        return { kind: 'aborted' };
      default:
        break;
    }
  }
  return { kind: 'failed', error: new Error('the response stream ended before it finished') };
}

function setProviderOptions(
  reasoning: LLMReasoningPart,
  metadata: Record<string, Record<string, unknown>> | undefined,
) {
  if (metadata !== undefined) reasoning.providerOptions = metadata;
}

/** Only reached when the provider gave no raw text; invalid input is already a string. */
function argumentsText(input: unknown): string {
  return typeof input === 'string' ? input : JSON.stringify(input ?? {});
}
