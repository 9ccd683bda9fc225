import type { ModelMessage } from 'ai';

/** One message of the history, framework-neutral: what every framework is given to start from. */
export type HistoryMessage =
  | { role: 'user'; text: string }
  | {
      role: 'assistant';
      text: string;
      toolCalls: { id: string; name: string; arguments: Record<string, unknown> }[];
    }
  | { role: 'tool'; toolCallId: string; toolName: string; text: string };

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content
    .map((part: { type?: string; text?: string }) =>
      part.type === 'text' ? (part.text ?? '') : '',
    )
    .join('\n');
}

/**
 * The history Ferry sends its model (from `buildLLMContext`), in a neutral form, so the peers
 * start from exactly the same messages, tool calls and tool outputs.
 */
export function neutralHistory(messages: readonly ModelMessage[]): HistoryMessage[] {
  const history: HistoryMessage[] = [];
  for (const message of messages) {
    switch (message.role) {
      case 'user':
        history.push({ role: 'user', text: textOf(message.content) });
        break;
      case 'assistant': {
        const parts = typeof message.content === 'string' ? [] : message.content;
        history.push({
          role: 'assistant',
          text: textOf(message.content),
          toolCalls: parts.flatMap((part) =>
            part.type === 'tool-call'
              ? [
                  {
                    id: part.toolCallId,
                    name: part.toolName,
                    arguments: part.input as Record<string, unknown>,
                  },
                ]
              : [],
          ),
        });
        break;
      }
      case 'tool':
        for (const part of message.content) {
          if (part.type !== 'tool-result') continue;
          const output = part.output;
          history.push({
            role: 'tool',
            toolCallId: part.toolCallId,
            toolName: part.toolName,
            text: output.type === 'text' ? output.value : JSON.stringify(output),
          });
        }
        break;
      case 'system':
        break;
    }
  }
  return history;
}
