import { isFerryErrorNamed } from './ferry-error';
import { describeLLM, LLMError, providerSuffix, type LLMErrorContext } from './llm-error';

/** The prompt does not fit the model's context window; condensing the history may help. */
export class LLMContextWindowError extends LLMError {
  constructor(
    readonly status: number | undefined,
    context: LLMErrorContext,
  ) {
    super(
      'LLM_CONTEXT_WINDOW_EXCEEDED',
      `${describeLLM(context)}: the prompt does not fit the model's context window` +
        providerSuffix(context),
      context,
    );
  }

  static override isInstance(value: unknown): value is LLMContextWindowError {
    return isFerryErrorNamed(value, 'LLMContextWindowError');
  }

  protected override details() {
    return { ...super.details(), ...(this.status === undefined ? {} : { status: this.status }) };
  }
}
