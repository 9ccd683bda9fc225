import type { ScriptCursor, ScriptTurn } from './script';
import { NOOP_TOOL } from './script';

/**
 * The base URL of the in-process model. Ferry creates its model from the agent's LLM document, so
 * the zero-latency model is an OpenAI-compatible endpoint answered inside this process: `fetch`
 * for this origin never reaches a socket, and Ferry's real provider code (the AI SDK) builds the
 * request and reads the streamed reply.
 */
export const IN_PROCESS_BASE_URL = 'http://ferry-bench.invalid/v1';

const encoder = new TextEncoder();

function sse(chunks: readonly unknown[]): string {
  return `${chunks.map((chunk) => `data: ${JSON.stringify(chunk)}\n\n`).join('')}data: [DONE]\n\n`;
}

/** The streamed chat completion for one turn, as an OpenAI-compatible server sends it. */
export function completionStream(turn: ScriptTurn, index: number): Uint8Array {
  const base = {
    id: `chatcmpl-bench-${index}`,
    object: 'chat.completion.chunk',
    created: 0,
    model: 'bench-model',
  };
  const usage = { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 };
  const delta =
    turn.kind === 'tool-call'
      ? {
          role: 'assistant',
          content: null,
          tool_calls: [
            {
              index: 0,
              id: turn.callId,
              type: 'function',
              function: { name: NOOP_TOOL, arguments: JSON.stringify(turn.arguments) },
            },
          ],
        }
      : { role: 'assistant', content: turn.text };
  return encoder.encode(
    sse([
      { ...base, choices: [{ index: 0, delta, finish_reason: null }] },
      {
        ...base,
        choices: [
          { index: 0, delta: {}, finish_reason: turn.kind === 'tool-call' ? 'tool_calls' : 'stop' },
        ],
        usage,
      },
    ]),
  );
}

/**
 * Routes `fetch` calls for {@link IN_PROCESS_BASE_URL} to the current script (set with
 * `use()`); every other URL goes to the real `fetch`. `restore()` puts the real one back.
 */
export function installScriptedFetch(): {
  use(cursor: ScriptCursor | undefined): void;
  restore(): void;
} {
  const original = globalThis.fetch;
  let cursor: ScriptCursor | undefined;
  let served = 0;
  const scripted: typeof fetch = (input, init) => {
    const url = input instanceof Request ? input.url : String(input);
    if (!url.startsWith(IN_PROCESS_BASE_URL)) return original(input, init);
    if (cursor === undefined) return Promise.reject(new Error('in-process model: no script'));
    served += 1;
    const body = completionStream(cursor.next(), served);
    return Promise.resolve(
      new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } }),
    );
  };
  globalThis.fetch = scripted;
  return {
    use(next) {
      cursor = next;
    },
    restore() {
      globalThis.fetch = original;
    },
  };
}
