import { FerryError, isFerryErrorNamed } from './ferry-error';

/** A conversation folder was opened with an explicit id that differs from the persisted one. */
export class ConversationIdMismatchError extends FerryError {
  constructor(
    readonly expected: string,
    readonly actual: string,
    readonly directory: string,
  ) {
    super(
      'CONVERSATION_ID_MISMATCH',
      `The conversation in "${directory}" has id ${expected}, but id ${actual} was requested. ` +
        'Omit conversationId to resume it, or use another persistence folder for a new conversation.',
    );
  }

  static override isInstance(value: unknown): value is ConversationIdMismatchError {
    return isFerryErrorNamed(value, 'ConversationIdMismatchError');
  }

  protected override details() {
    return { expected: this.expected, actual: this.actual, directory: this.directory };
  }
}
