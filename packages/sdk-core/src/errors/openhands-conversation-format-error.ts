import { FerryError, isFerryErrorNamed } from './ferry-error';

/**
 * A folder given as an OpenHands conversation is not one: no readable `base_state.json`, no
 * valid state in it, an `events/` folder with gaps, or an unreadable `meta.json`. Nothing was
 * written.
 */
export class OpenHandsConversationFormatError extends FerryError {
  /** The folder, or the file in it, that is wrong. */
  readonly path: string;
  /** What is wrong with it. */
  readonly reason: string;

  constructor(options: { path: string; reason: string; cause?: unknown }) {
    super(
      'OPENHANDS_CONVERSATION_FORMAT',
      `"${options.path}" is not an OpenHands conversation: ${options.reason}. Nothing was written.`,
      { cause: options.cause },
    );
    this.path = options.path;
    this.reason = options.reason;
  }

  static override isInstance(value: unknown): value is OpenHandsConversationFormatError {
    return isFerryErrorNamed(value, 'OpenHandsConversationFormatError');
  }

  protected override details() {
    return { path: this.path, reason: this.reason };
  }
}
