import { FerryError, isFerryErrorNamed } from './ferry-error';

/** The conversation moved elsewhere by teleport; this copy must not run or write. */
export class ConversationTeleportedError extends FerryError {
  constructor(
    readonly conversationId: string,
    readonly to: string,
    readonly at?: string,
  ) {
    super(
      'CONVERSATION_TELEPORTED',
      `Conversation ${conversationId} was teleported to ${to}${at === undefined ? '' : ` at ${at}`} ` +
        'and now runs there. Continue it there, or teleport it back first.',
    );
  }

  static override isInstance(value: unknown): value is ConversationTeleportedError {
    return isFerryErrorNamed(value, 'ConversationTeleportedError');
  }

  protected override details() {
    return { conversation_id: this.conversationId, to: this.to, at: this.at };
  }
}
