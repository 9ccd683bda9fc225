import { z } from 'zod';

/** Reasoning effort levels understood by reasoning models. */
export const reasoningEffortSchema = z.enum(['low', 'medium', 'high', 'xhigh', 'none']);
export type ReasoningEffort = z.infer<typeof reasoningEffortSchema>;

/**
 * An LLM configuration document (OpenHands' `LLM`). Only the fields Ferry acts on are typed;
 * every other field is kept and written back unchanged.
 *
 * `model` is `provider/model` (`openai/gpt-4.1-mini`, `anthropic/claude-sonnet-4-5`); a bare
 * name means OpenAI. `base_url` points any OpenAI-compatible endpoint. Secret fields
 * (`api_key`, AWS credentials) are never written in plaintext.
 */
export const llmSchema = z.looseObject({
  model: z.string().min(1, 'model must name a model, e.g. "openai/gpt-4.1-mini"'),
  api_key: z.string().nullish(),
  base_url: z.string().nullish(),
  api_version: z.string().nullish(),
  aws_access_key_id: z.string().nullish(),
  aws_secret_access_key: z.string().nullish(),
  aws_session_token: z.string().nullish(),
  aws_region_name: z.string().nullish(),
  temperature: z.number().nullish(),
  top_p: z.number().nullish(),
  max_output_tokens: z.number().int().positive().nullish(),
  /** Seconds. */
  timeout: z.number().positive().nullish(),
  num_retries: z.number().int().nonnegative().optional(),
  reasoning_effort: reasoningEffortSchema.nullish(),
  litellm_extra_body: z.record(z.string(), z.unknown()).optional(),
  input_cost_per_token: z.number().nullish(),
  output_cost_per_token: z.number().nullish(),
  usage_id: z.string().default('default'),
});
/** A parsed LLM document (defaults applied). */
export type LLM = z.infer<typeof llmSchema>;
/** An LLM document as a user writes it (defaults optional). */
export type LLMInput = z.input<typeof llmSchema>;

/** The LLM fields that hold secrets. */
export const llmSecretFields = [
  'api_key',
  'aws_access_key_id',
  'aws_secret_access_key',
  'aws_session_token',
] as const;
export type LLMSecretField = (typeof llmSecretFields)[number];
