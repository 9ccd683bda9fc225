import { FerryError, isFerryErrorNamed } from './ferry-error';

/**
 * A conversation was to be written where one already is (an import or export destination).
 * Nothing was changed: move or delete the existing folder first.
 */
export class ConversationExistsError extends FerryError {
  readonly conversationId: string;
  /** The folder that already exists. */
  readonly location: string;

  constructor(options: { conversationId: string; location: string }) {
    super(
      'CONVERSATION_EXISTS',
      `Conversation ${options.conversationId} already exists in "${options.location}". ` +
        'Move or delete it first. Nothing was changed.',
    );
    this.conversationId = options.conversationId;
    this.location = options.location;
  }

  static override isInstance(value: unknown): value is ConversationExistsError {
    return isFerryErrorNamed(value, 'ConversationExistsError');
  }

  protected override details() {
    return { conversation_id: this.conversationId, location: this.location };
  }
}
