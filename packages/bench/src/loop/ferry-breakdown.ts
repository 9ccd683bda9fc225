import { jsonSchema, streamText, tool } from 'ai';
import { MockLanguageModelV3, simulateReadableStream } from 'ai/test';
import { z } from 'zod';
import {
  LLMContextBuilder,
  buildLLMContext,
  callLLM,
  providerIdentity,
  type Agent,
  type AnyEvent,
  type LanguageModelFactory,
  type LLMContextEvents,
  type LLMToolSpec,
} from '@ferry/sdk-core';
import { elapsedMs, summarize } from '../harness/stats';
import { NOOP_DESCRIPTION, NOOP_TOOL, ScriptCursor, loopScript } from './script';
import type { installScriptedFetch } from './scripted-fetch';

/** Where the time of one Ferry step goes, each part measured on its own (medians, ms). */
export interface FerryStepBreakdown {
  /** `buildLLMContext` over the whole history: the first request after a resume. */
  contextMs: number;
  /**
   * The conversation's `LLMContextBuilder` once it has read the history: what a step pays to
   * build its request (only the unsettled tail is converted again).
   */
  incrementalContextMs: number;
  /** `callLLM` with the in-process model (given through `languageModel`), same messages. */
  callInProcessMs: number;
  /**
   * The AI SDK's `streamText` over that request with `ai/test`'s `MockLanguageModelV3`, for
   * comparison: Ferry calls the model directly because `streamText` validates the whole prompt.
   */
  streamTextMs: number;
  /** `callLLM` through the in-process OpenAI-compatible endpoint: all of the above plus the provider. */
  callLLMMs: number;
}

const noopSpec: LLMToolSpec = {
  name: NOOP_TOOL,
  description: NOOP_DESCRIPTION,
  inputSchema: z.toJSONSchema(z.object({ step: z.number().int() })) as LLMToolSpec['inputSchema'],
};

function mockModel(): MockLanguageModelV3 {
  return new MockLanguageModelV3({
    doStream: () =>
      Promise.resolve({
        stream: simulateReadableStream({
          initialDelayInMs: null,
          chunkDelayInMs: null,
          chunks: [
            { type: 'stream-start' as const, warnings: [] },
            {
              type: 'tool-call' as const,
              toolCallId: 'call_mock',
              toolName: NOOP_TOOL,
              input: '{"step":1}',
            },
            {
              type: 'finish' as const,
              finishReason: { unified: 'tool-calls' as const, raw: 'tool_calls' },
              usage: {
                inputTokens: { total: 10, noCache: 10, cacheRead: 0, cacheWrite: 0 },
                outputTokens: { total: 5, text: 5, reasoning: 0 },
              },
            },
          ],
        }),
      }),
  });
}

async function timed(repetitions: number, task: () => Promise<unknown>): Promise<number> {
  const samples: number[] = [];
  for (let index = 0; index < repetitions; index += 1) {
    const start = process.hrtime.bigint();
    await task();
    samples.push(elapsedMs(start));
  }
  return summarize(samples).median;
}

/** Measures the parts of a Ferry step on `events` (already parsed once). */
export async function ferryStepBreakdown(options: {
  events: LLMContextEvents & Iterable<AnyEvent>;
  agent: Agent;
  repetitions: number;
  model: ReturnType<typeof installScriptedFetch>;
  inProcess: {
    languageModel: LanguageModelFactory;
    use(cursor: ScriptCursor | undefined): void;
  };
}): Promise<FerryStepBreakdown> {
  const { agent } = options;
  const provider = providerIdentity(agent.llm);
  const build = () => buildLLMContext({ events: options.events, agent, provider });
  const context = build();
  const contextMs = await timed(options.repetitions, () => Promise.resolve(build()));
  const builder = new LLMContextBuilder();
  const incremental = () => builder.build({ events: options.events, agent, provider });
  const steady = incremental();
  const incrementalContextMs = await timed(options.repetitions, () =>
    Promise.resolve(incremental()),
  );
  const callInProcessMs = await timed(options.repetitions, async () => {
    options.inProcess.use(new ScriptCursor(loopScript(1)));
    await callLLM({
      llm: agent.llm,
      system: steady.system,
      messages: steady.messages,
      tools: [noopSpec],
      languageModel: options.inProcess.languageModel,
    });
    options.inProcess.use(undefined);
  });
  const streamTextMs = await timed(options.repetitions, async () => {
    const result = streamText({
      model: mockModel(),
      system: context.system,
      messages: context.messages,
      tools: {
        [NOOP_TOOL]: tool({
          description: NOOP_DESCRIPTION,
          inputSchema: jsonSchema(noopSpec.inputSchema),
        }),
      },
    });
    for await (const _part of result.fullStream) {
      // drained: the call is done when the stream ends
    }
  });
  const callLLMMs = await timed(options.repetitions, async () => {
    options.model.use(new ScriptCursor(loopScript(1)));
    await callLLM({
      llm: agent.llm,
      system: context.system,
      messages: context.messages,
      tools: [noopSpec],
    });
    options.model.use(undefined);
  });
  return { contextMs, incrementalContextMs, callInProcessMs, streamTextMs, callLLMMs };
}
