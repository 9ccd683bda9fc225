import { FerryError, isFerryErrorNamed } from './ferry-error';

/** The operation needs the conversation to be stopped, and it is running. */
export class ConversationRunningError extends FerryError {
  constructor(
    readonly conversationId: string,
    readonly operation: string,
  ) {
    super(
      'CONVERSATION_RUNNING',
      `Cannot ${operation} while conversation ${conversationId} is running. Pause it (or wait for it to finish) first.`,
    );
  }

  static override isInstance(value: unknown): value is ConversationRunningError {
    return isFerryErrorNamed(value, 'ConversationRunningError');
  }

  protected override details() {
    return { conversation_id: this.conversationId, operation: this.operation };
  }
}
