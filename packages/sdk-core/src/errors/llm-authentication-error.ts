import { isFerryErrorNamed } from './ferry-error';
import { describeLLM, LLMError, providerSuffix, type LLMErrorContext } from './llm-error';

/** The provider rejected the credentials (HTTP 401 or 403). */
export class LLMAuthenticationError extends LLMError {
  constructor(
    readonly status: number,
    context: LLMErrorContext,
  ) {
    super(
      'LLM_AUTHENTICATION',
      `${describeLLM(context)}: the provider rejected the credentials (HTTP ${status})` +
        `${providerSuffix(context)}. Check the api_key of LLM usage_id '${context.usageId}'.`,
      context,
    );
  }

  static override isInstance(value: unknown): value is LLMAuthenticationError {
    return isFerryErrorNamed(value, 'LLMAuthenticationError');
  }

  protected override details() {
    return { ...super.details(), status: this.status };
  }
}
