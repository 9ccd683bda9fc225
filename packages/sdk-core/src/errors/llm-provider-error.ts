import { isFerryErrorNamed } from './ferry-error';
import { describeLLM, LLMError, providerSuffix, type LLMErrorContext } from './llm-error';

/**
 * Any other failure of the provider: a 5xx after every retry, a 4xx Ferry has no finer error
 * for, a broken stream, or a connection that could not be made (`status` is then undefined).
 */
export class LLMProviderError extends LLMError {
  constructor(
    readonly status: number | undefined,
    context: LLMErrorContext,
  ) {
    super(
      'LLM_PROVIDER_ERROR',
      `${describeLLM(context)}: the call failed` +
        `${status === undefined ? '' : ` (HTTP ${status})`}${providerSuffix(context)}`,
      context,
    );
  }

  static override isInstance(value: unknown): value is LLMProviderError {
    return isFerryErrorNamed(value, 'LLMProviderError');
  }

  protected override details() {
    return { ...super.details(), ...(this.status === undefined ? {} : { status: this.status }) };
  }
}
