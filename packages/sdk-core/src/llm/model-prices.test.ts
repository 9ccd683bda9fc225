import { describe, expect, it } from 'vitest';
import { builtinModelPrices, findModelPrice } from './model-prices';

describe('findModelPrice', () => {
  it('matches a model exactly or with a date suffix', () => {
    expect(findModelPrice('gpt-4o')).toBe(builtinModelPrices['gpt-4o']);
    expect(findModelPrice('gpt-4o-2024-08-06')).toBe(builtinModelPrices['gpt-4o']);
    expect(findModelPrice('claude-sonnet-4-5-20250929')).toBe(
      builtinModelPrices['claude-sonnet-4-5'],
    );
    expect(findModelPrice('claude-sonnet-4-20250514')).toBe(builtinModelPrices['claude-sonnet-4']);
  });

  it('does not take a variant for its base model', () => {
    expect(findModelPrice('gpt-4o-mini')).toBe(builtinModelPrices['gpt-4o-mini']);
    expect(findModelPrice('gpt-5-codex')).toBeUndefined();
    expect(findModelPrice('my-local-model')).toBeUndefined();
  });
});
