import { isFerryErrorNamed } from './ferry-error';
import { describeLLM, LLMError, type LLMErrorContext } from './llm-error';

/** The LLM call did not complete within the LLM's `timeout` (retries included). */
export class LLMTimeoutError extends LLMError {
  constructor(
    readonly timeoutSeconds: number,
    context: LLMErrorContext,
  ) {
    super(
      'LLM_TIMEOUT',
      `${describeLLM(context)}: no complete response within the timeout of ${timeoutSeconds} s. ` +
        'Raise the timeout of the LLM document if the model is slow.',
      context,
    );
  }

  static override isInstance(value: unknown): value is LLMTimeoutError {
    return isFerryErrorNamed(value, 'LLMTimeoutError');
  }

  protected override details() {
    return { ...super.details(), timeout_seconds: this.timeoutSeconds };
  }
}
