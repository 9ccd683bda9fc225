import { isFerryErrorNamed } from './ferry-error';
import { describeLLM, LLMError, type LLMErrorContext } from './llm-error';

/** The caller aborted the LLM call through its signal (e.g. `interrupt()`). */
export class LLMAbortedError extends LLMError {
  constructor(context: LLMErrorContext) {
    super('LLM_ABORTED', `${describeLLM(context)}: the call was aborted.`, context);
  }

  static override isInstance(value: unknown): value is LLMAbortedError {
    return isFerryErrorNamed(value, 'LLMAbortedError');
  }
}
