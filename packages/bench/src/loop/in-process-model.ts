import type { LanguageModelFactory } from '@ferry/sdk-core';
import { NOOP_TOOL, type ScriptCursor } from './script';

/** The AI SDK's provider-level model, as a `languageModel` factory returns it. */
type LanguageModel = NonNullable<ReturnType<LanguageModelFactory>>;
type StreamResult = Awaited<ReturnType<LanguageModel['doStream']>>;
type StreamPart = StreamResult['stream'] extends ReadableStream<infer Part> ? Part : never;

const usage = {
  inputTokens: { total: 10, noCache: 10, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: 5, text: 5, reasoning: undefined },
};

/**
 * A zero-latency model inside the process, given to Ferry through its `languageModel` factory:
 * each call answers with the next turn of the current script as provider stream parts. No
 * request is serialised and no response parsed, as with the peers' own fake models.
 */
export function inProcessLanguageModel(cursor: () => ScriptCursor | undefined): LanguageModel {
  let served = 0;
  return {
    specificationVersion: 'v3',
    provider: 'ferry-bench',
    modelId: 'bench-model',
    supportedUrls: {},
    doGenerate: () => Promise.reject(new Error('in-process model: only streaming is used')),
    doStream: () => {
      const script = cursor();
      if (script === undefined) return Promise.reject(new Error('in-process model: no script'));
      const turn = script.next();
      served += 1;
      const parts: StreamPart[] =
        turn.kind === 'tool-call'
          ? [
              {
                type: 'tool-call',
                toolCallId: turn.callId,
                toolName: NOOP_TOOL,
                input: JSON.stringify(turn.arguments),
              },
              { type: 'finish', finishReason: { unified: 'tool-calls', raw: 'tool_calls' }, usage },
            ]
          : [
              { type: 'text-start', id: `text-${served}` },
              { type: 'text-delta', id: `text-${served}`, delta: turn.text },
              { type: 'text-end', id: `text-${served}` },
              { type: 'finish', finishReason: { unified: 'stop', raw: 'stop' }, usage },
            ];
      const stream = new ReadableStream<StreamPart>({
        start(controller) {
          controller.enqueue({ type: 'response-metadata', id: `bench-${served}` });
          for (const part of parts) controller.enqueue(part);
          controller.close();
        },
      });
      return Promise.resolve({ stream });
    },
  };
}
