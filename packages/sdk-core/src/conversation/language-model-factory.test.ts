import type {
  LanguageModelV3,
  LanguageModelV3CallOptions,
  LanguageModelV3StreamPart,
} from '@ai-sdk/provider';
import { describe, expect, it } from 'vitest';
import type { LanguageModelFactory } from '../llm/call-llm';
import { startScriptedLLMServer, text } from '../testing';
import { openInMemory, timeline } from './test-support';

/** An in-process model that answers each call with the next parts of `replies`. */
function inProcessModel(replies: LanguageModelV3StreamPart[][]) {
  const calls: LanguageModelV3CallOptions[] = [];
  const model: LanguageModelV3 = {
    specificationVersion: 'v3',
    provider: 'in-process',
    modelId: 'in-process-model',
    supportedUrls: {},
    doGenerate: () => Promise.reject(new Error('only streaming is used')),
    doStream: (options) => {
      calls.push(options);
      const parts = replies[calls.length - 1] ?? [];
      return Promise.resolve({
        stream: new ReadableStream<LanguageModelV3StreamPart>({
          start(controller) {
            for (const part of parts) controller.enqueue(part);
            controller.close();
          },
        }),
      });
    },
  };
  return { model, calls };
}

const usage = {
  inputTokens: { total: 12, noCache: 12, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: 3, text: 3, reasoning: undefined },
};

function toolCallReply(name: string, input: object): LanguageModelV3StreamPart[] {
  return [
    { type: 'stream-start', warnings: [] },
    { type: 'tool-call', toolCallId: `call-${name}`, toolName: name, input: JSON.stringify(input) },
    { type: 'finish', finishReason: { unified: 'tool-calls', raw: 'tool_calls' }, usage },
  ];
}

describe('LocalConversation with a languageModel factory', () => {
  it('runs the agent on the model the factory makes, with the history, tools and usage', async () => {
    const { model, calls } = inProcessModel([
      toolCallReply('think', { thought: 'plan' }),
      toolCallReply('finish', { message: 'all done' }),
    ]);
    const seen: string[] = [];
    const languageModel: LanguageModelFactory = (llm) => {
      seen.push(llm.model);
      return llm.model === 'google/gemini-test' ? model : undefined;
    };
    const conversation = await openInMemory({
      agent: { kind: 'Agent', llm: { model: 'google/gemini-test', usage_id: 'default' } },
      languageModel,
    });
    await conversation.sendMessage('Plan, then finish.');

    expect(await conversation.run()).toBe('finished');
    expect(seen).toEqual(['google/gemini-test', 'google/gemini-test']);
    expect(calls).toHaveLength(2);
    expect(calls[0]?.tools?.map((tool) => tool.name)).toEqual(
      expect.arrayContaining(['finish', 'think']),
    );
    expect(JSON.stringify(calls[1]?.prompt)).toContain('Plan, then finish.');
    expect(JSON.stringify(calls[1]?.prompt)).toContain('"toolCallId":"call-think"');
    const last = timeline(conversation.events).at(-1);
    expect(last).toMatchObject({ kind: 'ObservationEvent', tool_name: 'finish' });
    expect(
      conversation.state.stats.usage_to_metrics.default?.accumulated_token_usage?.prompt_tokens,
    ).toBe(24);
    await conversation.close();
  });

  it("lets Ferry route the documents the factory leaves alone (the condenser's, here)", async () => {
    const { model } = inProcessModel([toolCallReply('finish', { message: 'done' })]);
    await using llm = await startScriptedLLMServer({ script: [text('unused')] });
    const conversation = await openInMemory({
      agent: {
        kind: 'Agent',
        llm: { model: 'in-process', usage_id: 'default' },
        condenser: {
          kind: 'LLMSummarizingCondenser',
          llm: { model: 'scripted', base_url: llm.baseUrl, api_key: 'k', usage_id: 'condenser' },
          max_size: 100,
          keep_first: 1,
        },
      },
      languageModel: (document) => (document.model === 'in-process' ? model : undefined),
    });
    await conversation.sendMessage('Finish at once.');
    expect(await conversation.run()).toBe('finished');
    expect(llm.requests).toHaveLength(0);
    await conversation.close();
  });
});
