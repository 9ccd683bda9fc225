import { isFerryErrorNamed } from './ferry-error';
import { describeLLM, LLMError, providerSuffix, type LLMErrorContext } from './llm-error';

/** The provider still answered HTTP 429 after every retry. */
export class LLMRateLimitError extends LLMError {
  constructor(
    /** How many requests were sent, the first one included. */
    readonly attempts: number,
    context: LLMErrorContext,
  ) {
    super(
      'LLM_RATE_LIMIT',
      `${describeLLM(context)}: rate limited (HTTP 429) after ${attempts} ` +
        `${attempts === 1 ? 'attempt' : 'attempts'}${providerSuffix(context)}`,
      context,
    );
  }

  static override isInstance(value: unknown): value is LLMRateLimitError {
    return isFerryErrorNamed(value, 'LLMRateLimitError');
  }

  protected override details() {
    return { ...super.details(), attempts: this.attempts };
  }
}
