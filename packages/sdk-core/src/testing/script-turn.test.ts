import { describe, expect, it } from 'vitest';
import { contextWindowExceeded, httpError, text, toolCall, toolCalls } from './script-turn';

describe('script turn constructors', () => {
  it('builds a text turn with its options', () => {
    expect(text('Hi', { delayMs: 5, reasoning: 'Greet back.' })).toEqual({
      kind: 'text',
      content: 'Hi',
      delayMs: 5,
      reasoning: 'Greet back.',
    });
  });

  it('serialises tool arguments to JSON, and keeps a string as the raw arguments', () => {
    expect(toolCall('search', { query: 'ferry' }, { id: 'call_x' }).toolCalls).toEqual([
      { name: 'search', arguments: '{"query":"ferry"}', id: 'call_x' },
    ]);
    expect(
      toolCalls([
        { name: 'a', args: '{"broken": ' },
        { name: 'b', args: {} },
      ]).toolCalls,
    ).toEqual([
      { name: 'a', arguments: '{"broken": ' },
      { name: 'b', arguments: '{}' },
    ]);
  });

  it('gives HTTP errors an OpenAI error type by status', () => {
    expect(httpError(429)).toMatchObject({ status: 429, type: 'rate_limit_exceeded' });
    expect(httpError(503, { message: 'Overloaded' })).toMatchObject({
      type: 'server_error',
      message: 'Overloaded',
    });
  });

  it("mirrors OpenAI's context window error", () => {
    expect(contextWindowExceeded({ contextWindow: 8192, promptTokens: 9000 })).toMatchObject({
      status: 400,
      code: 'context_length_exceeded',
      message: expect.stringContaining(
        'maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens',
      ) as unknown,
    });
  });
});
