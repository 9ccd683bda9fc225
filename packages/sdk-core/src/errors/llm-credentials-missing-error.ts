import { isFerryErrorNamed } from './ferry-error';
import { describeLLM, LLMError, type LLMErrorContext } from './llm-error';

/**
 * The LLM needs an API key and has none: typically a resumed conversation whose key was not
 * stored in plaintext, opened without the agent (and its key) or a `FERRY_SECRET_KEY`.
 */
export class LLMCredentialsMissingError extends LLMError {
  constructor(
    /** The environment variable the provider would also accept, e.g. `OPENAI_API_KEY`. */
    readonly environmentVariable: string,
    context: LLMErrorContext,
  ) {
    super(
      'LLM_CREDENTIALS_MISSING',
      `${describeLLM(context)}: the API key of LLM usage_id '${context.usageId}' is missing — ` +
        'it was not stored in plaintext; pass the agent again with its key, or set ' +
        `FERRY_SECRET_KEY so keys are stored encrypted (or set ${environmentVariable}).`,
      context,
    );
  }

  static override isInstance(value: unknown): value is LLMCredentialsMissingError {
    return isFerryErrorNamed(value, 'LLMCredentialsMissingError');
  }

  protected override details() {
    return { ...super.details(), environment_variable: this.environmentVariable };
  }
}
