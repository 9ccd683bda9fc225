import type { ModelMessage } from 'ai';
import { describe, expect, it } from 'vitest';
import { LLMConfigurationError } from '../errors/llm-configuration-error';
import { toProviderPrompt } from './provider-prompt';

const context = { usageId: 'default', model: 'gpt-test' };

describe('toProviderPrompt', () => {
  it('turns the system prompt and messages into the provider prompt, merging tool results', () => {
    const messages: ModelMessage[] = [
      { role: 'user', content: 'List the files' },
      {
        role: 'assistant',
        content: [
          { type: 'reasoning', text: 'ls it', providerOptions: { anthropic: { signature: 's' } } },
          { type: 'text', text: '' },
          { type: 'tool-call', toolCallId: 'a', toolName: 'terminal', input: { command: 'ls' } },
          { type: 'tool-call', toolCallId: 'b', toolName: 'terminal', input: { command: 'pwd' } },
        ],
      },
      {
        role: 'tool',
        content: [
          {
            type: 'tool-result',
            toolCallId: 'a',
            toolName: 'terminal',
            output: { type: 'text', value: 'x.ts' },
          },
        ],
      },
      {
        role: 'tool',
        content: [
          {
            type: 'tool-result',
            toolCallId: 'b',
            toolName: 'terminal',
            output: { type: 'text', value: '/w' },
          },
        ],
      },
      { role: 'user', content: [{ type: 'text', text: 'Thanks' }] },
    ];

    expect(toProviderPrompt('Be brief.', messages, context)).toEqual([
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: [{ type: 'text', text: 'List the files' }] },
      {
        role: 'assistant',
        content: [
          { type: 'reasoning', text: 'ls it', providerOptions: { anthropic: { signature: 's' } } },
          { type: 'tool-call', toolCallId: 'a', toolName: 'terminal', input: { command: 'ls' } },
          { type: 'tool-call', toolCallId: 'b', toolName: 'terminal', input: { command: 'pwd' } },
        ],
      },
      {
        role: 'tool',
        content: [
          {
            type: 'tool-result',
            toolCallId: 'a',
            toolName: 'terminal',
            output: { type: 'text', value: 'x.ts' },
          },
          {
            type: 'tool-result',
            toolCallId: 'b',
            toolName: 'terminal',
            output: { type: 'text', value: '/w' },
          },
        ],
      },
      { role: 'user', content: [{ type: 'text', text: 'Thanks' }] },
    ]);
  });

  it('sends no system message for an empty system prompt', () => {
    expect(toProviderPrompt('', [{ role: 'user', content: 'Hi' }], context)).toEqual([
      { role: 'user', content: [{ type: 'text', text: 'Hi' }] },
    ]);
  });

  it('refuses an image part with a typed error that says what can be sent', () => {
    const messages: ModelMessage[] = [
      { role: 'user', content: [{ type: 'image', image: new URL('https://example.com/a.png') }] },
    ];
    const call = () => toProviderPrompt('', messages, context);
    expect(call).toThrow(LLMConfigurationError);
    expect(call).toThrow(/image part in a user message cannot be sent/);
  });
});
