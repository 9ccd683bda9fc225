import type {
  LanguageModelV3Message,
  LanguageModelV3Prompt,
  LanguageModelV3ToolResultOutput,
  LanguageModelV3ToolResultPart,
} from '@ai-sdk/provider';
import type { ModelMessage, ToolResultPart } from 'ai';
import { LLMConfigurationError } from '../errors/llm-configuration-error';

type AssistantPart = Extract<LanguageModelV3Message, { role: 'assistant' }>['content'][number];

/**
 * The provider-level prompt of a call: the system prompt and the messages in the AI SDK's
 * language-model form, as `streamText` would build them, without its validation pass.
 *
 * Ferry builds its messages itself (`buildLLMContext`) from typed events, so they are valid by
 * construction; validating the whole history again on every call cost more than everything
 * else in a step (tens of milliseconds at 1,000 events). Consecutive tool messages are merged
 * and empty text parts dropped, as the AI SDK does. Messages carry text, reasoning, tool calls
 * and tool results; a part of another kind (image, file, approval) raises
 * `LLMConfigurationError`, since Ferry's events never produce one.
 */
export function toProviderPrompt(
  system: string,
  messages: readonly ModelMessage[],
  context: { usageId: string; model: string },
): LanguageModelV3Prompt {
  const prompt: LanguageModelV3Prompt = system === '' ? [] : [{ role: 'system', content: system }];
  const unsupported = (what: string) =>
    new LLMConfigurationError(
      `callLLM sends text, reasoning, tool calls and tool results; a ${what} cannot be sent. ` +
        'Describe it in text instead.',
      context,
    );

  for (const message of messages) {
    let converted = convertedMessages.get(message);
    if (converted === undefined) {
      converted = toProviderMessage(message, unsupported);
      convertedMessages.set(message, converted);
    }
    const previous = prompt.at(-1);
    if (converted.role === 'tool' && previous?.role === 'tool') {
      // Merged into a new message: converted messages are shared between calls.
      prompt[prompt.length - 1] = {
        ...previous,
        content: [...previous.content, ...converted.content],
      };
    } else if (converted.role !== 'tool' || converted.content.length > 0) {
      prompt.push(converted);
    }
  }
  return prompt;
}

/**
 * Converted messages by message: a conversation's context builder hands the same message
 * objects to every call, so the history is converted once. Converted messages are never changed.
 */
const convertedMessages = new WeakMap<ModelMessage, LanguageModelV3Message>();

function toProviderMessage(
  message: ModelMessage,
  unsupported: (what: string) => Error,
): LanguageModelV3Message {
  switch (message.role) {
    case 'system':
      return { role: 'system', content: message.content };
    case 'user': {
      if (typeof message.content === 'string') {
        return { role: 'user', content: [{ type: 'text', text: message.content }] };
      }
      const content = message.content.map((part) => {
        if (part.type !== 'text') throw unsupported(`${part.type} part in a user message`);
        return { type: 'text' as const, text: part.text };
      });
      return { role: 'user', content: content.filter((part) => part.text !== '') };
    }
    case 'assistant': {
      if (typeof message.content === 'string') {
        return { role: 'assistant', content: [{ type: 'text', text: message.content }] };
      }
      const content: AssistantPart[] = [];
      for (const part of message.content) {
        switch (part.type) {
          case 'text':
            if (part.text !== '' || part.providerOptions !== undefined) {
              content.push({
                type: 'text',
                text: part.text,
                providerOptions: part.providerOptions,
              });
            }
            break;
          case 'reasoning':
            content.push({
              type: 'reasoning',
              text: part.text,
              providerOptions: part.providerOptions,
            });
            break;
          case 'tool-call':
            content.push({
              type: 'tool-call',
              toolCallId: part.toolCallId,
              toolName: part.toolName,
              input: part.input,
              providerExecuted: part.providerExecuted,
              providerOptions: part.providerOptions,
            });
            break;
          case 'tool-result':
            content.push(toolResult(part, unsupported));
            break;
          default:
            throw unsupported(`${part.type} part in an assistant message`);
        }
      }
      return { role: 'assistant', content, providerOptions: message.providerOptions };
    }
    case 'tool': {
      const content = message.content.map((part) => {
        if (part.type !== 'tool-result') throw unsupported(`${part.type} part`);
        return toolResult(part, unsupported);
      });
      return { role: 'tool', content };
    }
  }
}

function toolResult(
  part: ToolResultPart,
  unsupported: (what: string) => Error,
): LanguageModelV3ToolResultPart {
  return {
    type: 'tool-result',
    toolCallId: part.toolCallId,
    toolName: part.toolName,
    output: toolOutput(part.output, unsupported),
    providerOptions: part.providerOptions,
  };
}

function toolOutput(
  output: ToolResultPart['output'],
  unsupported: (what: string) => Error,
): LanguageModelV3ToolResultOutput {
  switch (output.type) {
    case 'text':
    case 'error-text':
    case 'json':
    case 'error-json':
    case 'execution-denied':
      return output;
    case 'content':
      throw unsupported('tool result with content parts');
  }
}
