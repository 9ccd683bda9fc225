import { afterEach, describe, expect, it, vi } from 'vitest';
import { LLMConfigurationError } from '../errors/llm-configuration-error';
import { LLMCredentialsMissingError } from '../errors/llm-credentials-missing-error';
import { createLanguageModel } from './create-language-model';
import { llmSchema, type LLMInput } from './llm-schema';
import { resolveModelRoute } from './model-route';
import { providerIdentity } from './provider-identity';

const llm = (input: LLMInput) => llmSchema.parse(input);

function construct(input: LLMInput) {
  const model = createLanguageModel(llm(input));
  if (typeof model === 'string') throw new Error('expected a model object');
  return { provider: model.provider, modelId: model.modelId };
}

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('resolveModelRoute', () => {
  it('sends a bare name and openai/ to OpenAI', () => {
    expect(resolveModelRoute(llm({ model: 'gpt-4.1-mini' }))).toEqual({
      kind: 'openai',
      modelId: 'gpt-4.1-mini',
    });
    expect(resolveModelRoute(llm({ model: 'openai/gpt-4o' }))).toEqual({
      kind: 'openai',
      modelId: 'gpt-4o',
    });
  });

  it('sends anthropic/ to Anthropic', () => {
    expect(resolveModelRoute(llm({ model: 'anthropic/claude-sonnet-4-5' }))).toEqual({
      kind: 'anthropic',
      modelId: 'claude-sonnet-4-5',
    });
  });

  it('sends any model with a base_url to the OpenAI-compatible endpoint', () => {
    const base_url = 'http://localhost:4000/v1/';
    expect(resolveModelRoute(llm({ model: 'litellm_proxy/gpt-4o', base_url }))).toEqual({
      kind: 'openai-compatible',
      modelId: 'gpt-4o',
      baseUrl: 'http://localhost:4000/v1',
    });
    expect(
      resolveModelRoute(llm({ model: 'anthropic/claude-sonnet-4-5', base_url })),
    ).toMatchObject({ kind: 'openai-compatible', modelId: 'claude-sonnet-4-5' });
    expect(resolveModelRoute(llm({ model: 'ollama/qwen3:8b', base_url }))).toMatchObject({
      modelId: 'qwen3:8b',
    });
  });

  it('keeps a prefix that is not a provider, and only strips the first known one', () => {
    const base_url = 'http://localhost:8000/v1';
    expect(resolveModelRoute(llm({ model: 'meta-llama/Llama-3.1-8B', base_url }))).toMatchObject({
      modelId: 'meta-llama/Llama-3.1-8B',
    });
    expect(
      resolveModelRoute(llm({ model: 'openrouter/anthropic/claude-sonnet-4-5', base_url })),
    ).toMatchObject({ modelId: 'anthropic/claude-sonnet-4-5' });
    expect(resolveModelRoute(llm({ model: 'my-model', base_url }))).toMatchObject({
      modelId: 'my-model',
    });
  });

  it('rejects an unknown provider without base_url, saying what to do', () => {
    const route = () => resolveModelRoute(llm({ model: 'bedrock/claude-v2', usage_id: 'agent' }));
    expect(route).toThrow(LLMConfigurationError);
    expect(route).toThrow(/provider "bedrock" .* Set base_url/);
    expect(route).toThrow(
      expect.objectContaining({ usageId: 'agent', model: 'bedrock/claude-v2' }),
    );
  });

  it('rejects a prefix without a model name', () => {
    expect(() => resolveModelRoute(llm({ model: 'openai/' }))).toThrow(LLMConfigurationError);
  });
});

describe('providerIdentity', () => {
  it('names the provider, and the endpoint of a compatible one', () => {
    expect(providerIdentity(llm({ model: 'gpt-4o' }))).toBe('openai');
    expect(providerIdentity(llm({ model: 'openai/gpt-4o' }))).toBe('openai');
    expect(providerIdentity(llm({ model: 'anthropic/claude-sonnet-4-5' }))).toBe('anthropic');
    expect(
      providerIdentity(llm({ model: 'openai/gpt-4o', base_url: 'http://127.0.0.1:9/v1/' })),
    ).toBe('openai-compatible:http://127.0.0.1:9/v1');
  });

  it('never throws, even for a model Ferry cannot route', () => {
    expect(providerIdentity(llm({ model: 'bedrock/claude-v2' }))).toBe('bedrock');
  });
});

describe('createLanguageModel', () => {
  it('builds OpenAI Chat Completions, Anthropic and compatible models without a request', () => {
    expect(construct({ model: 'gpt-4.1-mini', api_key: 'k' })).toEqual({
      provider: 'openai.chat',
      modelId: 'gpt-4.1-mini',
    });
    expect(construct({ model: 'anthropic/claude-sonnet-4-5', api_key: 'k' })).toEqual({
      provider: 'anthropic.messages',
      modelId: 'claude-sonnet-4-5',
    });
    expect(construct({ model: 'ollama/llama3', base_url: 'http://127.0.0.1:11434/v1' })).toEqual({
      provider: 'ferry.chat',
      modelId: 'llama3',
    });
  });

  it('raises LLMCredentialsMissingError for a missing or redacted key with no env fallback', () => {
    vi.stubEnv('OPENAI_API_KEY', '');
    vi.stubEnv('ANTHROPIC_API_KEY', '');
    const missing = () => createLanguageModel(llm({ model: 'openai/gpt-4o' }));
    expect(missing).toThrow(LLMCredentialsMissingError);
    expect(missing).toThrow(
      "the API key of LLM usage_id 'default' is missing — it was not stored in plaintext; " +
        'pass the agent again with its key, or set FERRY_SECRET_KEY so keys are stored encrypted',
    );
    expect(() =>
      createLanguageModel(llm({ model: 'anthropic/claude-sonnet-4-5', api_key: '**********' })),
    ).toThrow(/ANTHROPIC_API_KEY/);
  });

  it("falls back to the provider's environment variable only when it is set", () => {
    vi.stubEnv('OPENAI_API_KEY', 'sk-from-env');
    expect(construct({ model: 'openai/gpt-4o' })).toMatchObject({ provider: 'openai.chat' });
  });

  it('needs no key for an OpenAI-compatible endpoint', () => {
    vi.stubEnv('OPENAI_API_KEY', '');
    expect(construct({ model: 'gpt-4o', base_url: 'http://127.0.0.1:8000/v1' })).toMatchObject({
      provider: 'ferry.chat',
      modelId: 'gpt-4o',
    });
  });

  it('raises LLMConfigurationError for an unknown provider prefix', () => {
    expect(() => createLanguageModel(llm({ model: 'vertex_ai/gemini-pro' }))).toThrow(
      LLMConfigurationError,
    );
  });
});
