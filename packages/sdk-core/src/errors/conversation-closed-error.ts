import { FerryError, isFerryErrorNamed } from './ferry-error';

/** A method was called on a conversation after `close()`. */
export class ConversationClosedError extends FerryError {
  constructor(readonly conversationId: string) {
    super(
      'CONVERSATION_CLOSED',
      `Conversation ${conversationId} is closed. Open it again with LocalConversation.open().`,
    );
  }

  static override isInstance(value: unknown): value is ConversationClosedError {
    return isFerryErrorNamed(value, 'ConversationClosedError');
  }

  protected override details() {
    return { conversation_id: this.conversationId };
  }
}
