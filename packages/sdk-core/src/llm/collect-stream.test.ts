import type { LanguageModelV3StreamPart, LanguageModelV3Usage } from '@ai-sdk/provider';
import { describe, expect, it } from 'vitest';
import { collectStream } from './collect-stream';

type Part = LanguageModelV3StreamPart;

const usage: LanguageModelV3Usage = {
  inputTokens: { total: 10, noCache: 10, cacheRead: 0, cacheWrite: 0 },
  outputTokens: { total: 5, text: 5, reasoning: 0 },
};
const finish: Part = {
  type: 'finish',
  finishReason: { unified: 'stop', raw: 'end_turn' },
  usage,
};

async function* streamOf(parts: Part[]) {
  for (const part of parts) yield await Promise.resolve(part);
}

function collect(parts: Part[], signal?: AbortSignal) {
  return collectStream({ stream: streamOf(parts), signal });
}

describe('collectStream', () => {
  it('keeps Anthropic-style reasoning parts with the metadata that arrives last', async () => {
    const outcome = await collect([
      { type: 'reasoning-start', id: 'r1' },
      { type: 'reasoning-delta', id: 'r1', delta: 'Let me ' },
      { type: 'reasoning-delta', id: 'r1', delta: 'think.' },
      {
        type: 'reasoning-delta',
        id: 'r1',
        delta: '',
        providerMetadata: { anthropic: { signature: 'sig-1' } },
      },
      { type: 'reasoning-end', id: 'r1' },
      {
        type: 'reasoning-start',
        id: 'r2',
        providerMetadata: { anthropic: { redactedData: 'opaque' } },
      },
      { type: 'reasoning-end', id: 'r2' },
      { type: 'response-metadata', id: 'resp-1' },
      { type: 'text-delta', id: 't1', delta: 'Done.' },
      finish,
    ]);

    expect(outcome).toMatchObject({
      kind: 'complete',
      response: {
        text: 'Done.',
        reasoningParts: [
          { text: 'Let me think.', providerOptions: { anthropic: { signature: 'sig-1' } } },
          { text: '', providerOptions: { anthropic: { redactedData: 'opaque' } } },
        ],
        finishReason: 'stop',
        responseId: 'resp-1',
        usage,
      },
    });
  });

  it('keeps tool call arguments as the provider sent them, even invalid, and skips provider-run tools', async () => {
    const outcome = await collect([
      { type: 'tool-call', toolCallId: 'c1', toolName: 'think', input: '{"thought": "x"}' },
      { type: 'tool-call', toolCallId: 'c2', toolName: 'terminal', input: '{"command": ' },
      {
        type: 'tool-call',
        toolCallId: 'c3',
        toolName: 'web_search',
        input: '{}',
        providerExecuted: true,
      },
      finish,
    ]);
    expect(outcome).toMatchObject({
      response: {
        toolCalls: [
          { id: 'c1', name: 'think', arguments: '{"thought": "x"}' },
          { id: 'c2', name: 'terminal', arguments: '{"command": ' },
        ],
      },
    });
  });

  it('reports errors, aborts and a stream that ends early', async () => {
    const error = new Error('overloaded');
    await expect(collect([{ type: 'error', error }])).resolves.toEqual({ kind: 'failed', error });
    await expect(collect([finish], AbortSignal.abort())).resolves.toEqual({ kind: 'aborted' });
    await expect(collect([{ type: 'text-delta', id: 't', delta: 'cut' }])).resolves.toMatchObject({
      kind: 'failed',
    });
  });
});
