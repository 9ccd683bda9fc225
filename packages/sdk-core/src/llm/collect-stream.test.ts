import type { LanguageModelUsage, TextStreamPart, ToolSet } from 'ai';
import { describe, expect, it } from 'vitest';
import { collectStream } from './collect-stream';

type Part = TextStreamPart<ToolSet>;

const usage: LanguageModelUsage = {
  inputTokens: 10,
  inputTokenDetails: { noCacheTokens: 10, cacheReadTokens: 0, cacheWriteTokens: 0 },
  outputTokens: 5,
  outputTokenDetails: { textTokens: 5, reasoningTokens: 0 },
  totalTokens: 15,
};
const finish: Part = {
  type: 'finish',
  finishReason: 'stop',
  rawFinishReason: 'end_turn',
  totalUsage: usage,
};

async function* streamOf(parts: Part[]) {
  for (const part of parts) yield await Promise.resolve(part);
}

function collect(parts: Part[]) {
  return collectStream({ stream: streamOf(parts), rawInput: () => undefined });
}

describe('collectStream', () => {
  it('keeps Anthropic-style reasoning parts with the metadata that arrives last', async () => {
    const outcome = await collect([
      { type: 'reasoning-start', id: 'r1' },
      { type: 'reasoning-delta', id: 'r1', text: 'Let me ' },
      { type: 'reasoning-delta', id: 'r1', text: 'think.' },
      {
        type: 'reasoning-delta',
        id: 'r1',
        text: '',
        providerMetadata: { anthropic: { signature: 'sig-1' } },
      },
      { type: 'reasoning-end', id: 'r1' },
      {
        type: 'reasoning-start',
        id: 'r2',
        providerMetadata: { anthropic: { redactedData: 'opaque' } },
      },
      { type: 'reasoning-end', id: 'r2' },
      { type: 'text-delta', id: 't1', text: 'Done.' },
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
        usage,
      },
    });
  });

  it('serialises parsed input when the provider gave no raw text', async () => {
    const outcome = await collect([
      { type: 'tool-call', toolCallId: 'c1', toolName: 'think', input: { thought: 'x' } },
      finish,
    ]);
    expect(outcome).toMatchObject({
      response: { toolCalls: [{ id: 'c1', name: 'think', arguments: '{"thought":"x"}' }] },
    });
  });

  it('reports errors, aborts and a stream that ends early', async () => {
    const error = new Error('overloaded');
    await expect(collect([{ type: 'error', error }])).resolves.toEqual({ kind: 'failed', error });
    await expect(collect([{ type: 'abort' }])).resolves.toEqual({ kind: 'aborted' });
    await expect(collect([{ type: 'text-delta', id: 't', text: 'cut' }])).resolves.toMatchObject({
      kind: 'failed',
    });
  });
});
