import { isFerryErrorNamed } from './ferry-error';
import { describeLLM, LLMError, type LLMErrorContext } from './llm-error';

/** The LLM document cannot be mapped to a provider, e.g. an unknown provider prefix. */
export class LLMConfigurationError extends LLMError {
  constructor(
    readonly problem: string,
    context: LLMErrorContext,
  ) {
    super('LLM_CONFIGURATION', `${describeLLM(context)}: ${problem}`, context);
  }

  static override isInstance(value: unknown): value is LLMConfigurationError {
    return isFerryErrorNamed(value, 'LLMConfigurationError');
  }
}
