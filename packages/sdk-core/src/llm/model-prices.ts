/** USD per token; cache prices default to the input price when unknown. */
export interface ModelPrice {
  input: number;
  output: number;
  cacheRead?: number;
  cacheWrite?: number;
}

const PER_MILLION = 1e-6;

function perMillion(input: number, output: number, cacheRead?: number, cacheWrite?: number) {
  return {
    input: input * PER_MILLION,
    output: output * PER_MILLION,
    ...(cacheRead === undefined ? {} : { cacheRead: cacheRead * PER_MILLION }),
    ...(cacheWrite === undefined ? {} : { cacheWrite: cacheWrite * PER_MILLION }),
  };
}

/**
 * List prices of a few well-known models (USD per million tokens, as published in 2025). They
 * are approximate and go stale: set `input_cost_per_token` / `output_cost_per_token` on the LLM
 * document for exact accounting.
 */
export const builtinModelPrices: Readonly<Record<string, ModelPrice>> = {
  'gpt-4o': perMillion(2.5, 10, 1.25),
  'gpt-4o-mini': perMillion(0.15, 0.6, 0.075),
  'gpt-4.1': perMillion(2, 8, 0.5),
  'gpt-4.1-mini': perMillion(0.4, 1.6, 0.1),
  'gpt-4.1-nano': perMillion(0.1, 0.4, 0.025),
  'gpt-5': perMillion(1.25, 10, 0.125),
  'gpt-5-mini': perMillion(0.25, 2, 0.025),
  'gpt-5-nano': perMillion(0.05, 0.4, 0.005),
  o3: perMillion(2, 8, 0.5),
  'o4-mini': perMillion(1.1, 4.4, 0.275),
  'claude-opus-4-1': perMillion(15, 75, 1.5, 18.75),
  'claude-sonnet-4': perMillion(3, 15, 0.3, 3.75),
  'claude-sonnet-4-5': perMillion(3, 15, 0.3, 3.75),
  'claude-haiku-4-5': perMillion(1, 5, 0.1, 1.25),
  'claude-3-5-haiku': perMillion(0.8, 4, 0.08, 1),
};

const modelsLongestFirst = Object.keys(builtinModelPrices).sort((a, b) => b.length - a.length);

/**
 * The built-in price of a model id: an exact entry, or an entry followed by a date or `-latest`
 * (`gpt-4o-2024-08-06`, `claude-sonnet-4-5-20250929`).
 */
export function findModelPrice(modelId: string): ModelPrice | undefined {
  for (const name of modelsLongestFirst) {
    if (!modelId.startsWith(name)) continue;
    const suffix = modelId.slice(name.length);
    if (suffix === '' || suffix === '-latest' || /^-\d{4}-?\d{2}-?\d{2}$/.test(suffix)) {
      return builtinModelPrices[name];
    }
  }
  return undefined;
}
