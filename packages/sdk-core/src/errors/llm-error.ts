import { FerryError } from './ferry-error';

const LLM_ERROR_MARKER = Symbol.for('@ferry/sdk-core/LLMError');

/** Which LLM a failed call used: every LLM error carries it. */
export interface LLMErrorContext {
  /** The `usage_id` of the LLM document (`"default"` for the agent's main LLM). */
  usageId: string;
  /** The `model` of the LLM document, e.g. `openai/gpt-4.1-mini`. */
  model: string;
  /** The provider's own error message, when the provider answered. */
  providerMessage?: string | undefined;
  cause?: unknown;
}

/**
 * Base class of the errors of an LLM call (configuration, credentials, provider failures,
 * timeouts, aborts). `LLMError.isInstance(error)` tells any of them apart from other failures.
 */
export class LLMError extends FerryError {
  readonly usageId: string;
  readonly model: string;
  readonly providerMessage: string | undefined;
  private readonly [LLM_ERROR_MARKER] = true;

  constructor(code: string, message: string, context: LLMErrorContext) {
    super(code, message, { cause: context.cause });
    this.usageId = context.usageId;
    this.model = context.model;
    this.providerMessage = context.providerMessage;
  }

  /** True for any LLM error, even from another installed copy of `@ferry/sdk-core`. */
  static override isInstance(value: unknown): value is LLMError {
    return FerryError.isInstance(value) && LLM_ERROR_MARKER in value;
  }

  protected override details(): Record<string, unknown> {
    return {
      usage_id: this.usageId,
      model: this.model,
      ...(this.providerMessage === undefined ? {} : { provider_message: this.providerMessage }),
    };
  }
}

/** `LLM "default" (openai/gpt-4.1-mini)`: how every LLM error message starts. */
export function describeLLM(context: LLMErrorContext): string {
  return `LLM "${context.usageId}" (${context.model})`;
}

/** `: <provider message>` when the provider said something, else nothing. */
export function providerSuffix(context: LLMErrorContext): string {
  return context.providerMessage === undefined ? '' : `: ${context.providerMessage}`;
}
