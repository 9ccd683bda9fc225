import type { ModelMessage } from 'ai';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startScriptedLLMServer, text, type ScriptedLLMServer } from '../testing/index';
import { callLLM } from './call-llm';
import { llmSchema, type LLMInput } from './llm-schema';

// Without base_url Ferry uses the AI SDK's OpenAI provider, which reads OPENAI_BASE_URL: that
// points it at the scripted server, so these tests run the real OpenAI code with no network.
const messages: ModelMessage[] = [{ role: 'user', content: 'Hi' }];

function call(server: ScriptedLLMServer, llm: LLMInput) {
  vi.stubEnv('OPENAI_BASE_URL', server.baseUrl);
  return callLLM({ llm: llmSchema.parse(llm), system: 'Be brief.', messages, tools: [] });
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('callLLM through the OpenAI provider', () => {
  it('sends reasoning_effort to a reasoning model, and no temperature', async () => {
    await using server = await startScriptedLLMServer({ script: [text('ok')] });

    const result = await call(server, {
      model: 'openai/o4-mini',
      api_key: 'sk-test',
      reasoning_effort: 'high',
      temperature: 0.5,
      max_output_tokens: 100,
    });

    expect(result).toMatchObject({ text: 'ok', provider: 'openai' });
    expect(server.requests[0]).toMatchObject({
      model: 'o4-mini',
      reasoning_effort: 'high',
      temperature: undefined,
      max_completion_tokens: 100,
    });
  });

  it('leaves reasoning_effort out for a model without reasoning (OpenHands documents set it)', async () => {
    await using server = await startScriptedLLMServer({ script: [text('ok')] });

    await call(server, {
      model: 'gpt-4o-mini',
      api_key: 'sk-test',
      reasoning_effort: 'high',
      temperature: 0,
    });

    expect(server.requests[0]).toMatchObject({
      model: 'gpt-4o-mini',
      reasoning_effort: undefined,
      temperature: 0,
    });
  });

  it('uses OPENAI_API_KEY when the document has no key', async () => {
    vi.stubEnv('OPENAI_API_KEY', 'sk-from-env');
    await using server = await startScriptedLLMServer({ script: [text('ok')] });

    await call(server, { model: 'gpt-4o-mini', api_key: '**********' });

    expect(server.requests[0]?.headers.authorization).toBe('Bearer ***');
  });
});
