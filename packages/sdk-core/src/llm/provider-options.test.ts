import { describe, expect, it } from 'vitest';
import { llmSchema, type LLMInput } from './llm-schema';
import { resolveModelRoute } from './model-route';
import { buildProviderOptions, isOpenAIReasoningModel, samplingSettings } from './provider-options';

function options(input: LLMInput) {
  const llm = llmSchema.parse(input);
  return buildProviderOptions(llm, resolveModelRoute(llm));
}

describe('buildProviderOptions', () => {
  it('turns reasoning_effort into an Anthropic thinking budget for models that think', () => {
    expect(options({ model: 'anthropic/claude-sonnet-4-5', reasoning_effort: 'medium' })).toEqual({
      anthropic: { thinking: { type: 'enabled', budgetTokens: 2048 } },
    });
    expect(
      options({ model: 'anthropic/claude-3-7-sonnet-20250219', reasoning_effort: 'high' }),
    ).toEqual({ anthropic: { thinking: { type: 'enabled', budgetTokens: 4096 } } });
  });

  it('asks Anthropic for no thinking on effort none or on models without it', () => {
    expect(options({ model: 'anthropic/claude-sonnet-4-5', reasoning_effort: 'none' })).toBe(
      undefined,
    );
    expect(options({ model: 'anthropic/claude-3-5-haiku-latest', reasoning_effort: 'high' })).toBe(
      undefined,
    );
  });

  it('puts the extra body and the effort under the compatible provider name', () => {
    expect(
      options({
        model: 'my-model',
        base_url: 'http://127.0.0.1:8000/v1',
        reasoning_effort: 'low',
        litellm_extra_body: { tags: ['a'] },
      }),
    ).toEqual({ ferry: { tags: ['a'], reasoningEffort: 'low' } });
    expect(options({ model: 'my-model', base_url: 'http://127.0.0.1:8000/v1' })).toBe(undefined);
  });
});

describe('isOpenAIReasoningModel', () => {
  it('knows o-series and GPT-5+ models', () => {
    for (const model of ['o1', 'o3-mini', 'o4-mini', 'gpt-5', 'gpt-5-mini', 'gpt-5.1']) {
      expect(isOpenAIReasoningModel(model), model).toBe(true);
    }
    for (const model of ['gpt-4o', 'gpt-4.1-mini', 'gpt-5-chat-latest', 'omni-moderation']) {
      expect(isOpenAIReasoningModel(model), model).toBe(false);
    }
  });
});

describe('samplingSettings', () => {
  const sampling = (input: LLMInput) => {
    const llm = llmSchema.parse({ temperature: 0, top_p: 1, ...input });
    return samplingSettings(llm, resolveModelRoute(llm));
  };

  it('keeps both for models that take them', () => {
    expect(sampling({ model: 'gpt-4o-mini' })).toEqual({ temperature: 0, topP: 1 });
    expect(sampling({ model: 'o3', base_url: 'http://127.0.0.1:8000/v1' })).toEqual({
      temperature: 0,
      topP: 1,
    });
  });

  it('leaves them out where the provider would drop them with a warning', () => {
    expect(sampling({ model: 'openai/o4-mini' })).toEqual({});
    expect(sampling({ model: 'anthropic/claude-sonnet-4-5', reasoning_effort: 'low' })).toEqual({});
    expect(sampling({ model: 'anthropic/claude-sonnet-4-5' })).toEqual({ temperature: 0 });
  });
});
