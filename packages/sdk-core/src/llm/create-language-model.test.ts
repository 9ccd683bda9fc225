import { afterEach, describe, expect, it, vi } from 'vitest';
import { LLMCredentialsMissingError } from '../errors/llm-credentials-missing-error';
import { startScriptedLLMServer, text } from '../testing/index';
import { callLLM } from './call-llm';
import { createLanguageModel } from './create-language-model';
import { llmSchema, type LLMInput } from './llm-schema';

const llm = (input: LLMInput) => llmSchema.parse(input);

const call = (input: LLMInput) =>
  callLLM({
    llm: llm(input),
    system: '',
    messages: [{ role: 'user', content: 'Hi' }],
    tools: [],
  });

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('createLanguageModel reuses models', () => {
  it('gives the same model for the same document and a new one when a field that builds it changes', () => {
    const base = { model: 'ollama/llama3', base_url: 'http://127.0.0.1:11434/v1', api_key: 'k1' };
    const model = createLanguageModel(llm(base));
    expect(createLanguageModel(llm({ ...base, temperature: 0.5, usage_id: 'other' }))).toBe(model);
    for (const changed of [
      { api_key: 'k2' },
      { api_key: null },
      { base_url: 'http://127.0.0.1:11435/v1' },
      { model: 'ollama/llama3.1' },
      { api_version: '2024-10-21' },
    ]) {
      expect(createLanguageModel(llm({ ...base, ...changed }))).not.toBe(model);
    }
    expect(createLanguageModel(llm({ model: 'openai/gpt-4o', api_key: 'k1' }))).not.toBe(
      createLanguageModel(llm({ model: 'anthropic/gpt-4o', api_key: 'k1' })),
    );
  });

  it('still checks the environment variable on every call', () => {
    vi.stubEnv('OPENAI_API_KEY', 'sk-from-env');
    expect(() => createLanguageModel(llm({ model: 'openai/gpt-4o' }))).not.toThrow();
    vi.stubEnv('OPENAI_API_KEY', '');
    expect(() => createLanguageModel(llm({ model: 'openai/gpt-4o' }))).toThrow(
      LLMCredentialsMissingError,
    );
  });

  it('sends each call with the key, endpoint and model of its own document', async () => {
    await using first = await startScriptedLLMServer({ script: [text('a'), text('b'), text('c')] });
    await using second = await startScriptedLLMServer({ script: [text('d'), text('e')] });

    await call({ model: 'm1', base_url: first.baseUrl, api_key: 'k1' });
    await call({ model: 'm1', base_url: first.baseUrl });
    await call({ model: 'm2', base_url: first.baseUrl, api_key: 'k1' });
    await call({ model: 'm1', base_url: second.baseUrl, api_key: 'k1' });
    await call({ model: 'm1', base_url: second.baseUrl, api_key: 'k1' });

    expect(first.requests.map((request) => request.headers.authorization)).toEqual([
      'Bearer ***',
      undefined,
      'Bearer ***',
    ]);
    expect(first.requests.map((request) => request.model)).toEqual(['m1', 'm1', 'm2']);
    expect(second.requests.map((request) => request.model)).toEqual(['m1', 'm1']);
  });
});
