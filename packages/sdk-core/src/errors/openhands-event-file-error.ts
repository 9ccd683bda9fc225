import { FerryError, isFerryErrorNamed } from './ferry-error';

/**
 * One event file of an OpenHands conversation (`events/event-NNNNN-<id>.json`) cannot be
 * imported: not JSON, not an event, or its id differs from the one in its name. Nothing was
 * written.
 */
export class OpenHandsEventFileError extends FerryError {
  /** The event file's path. */
  readonly path: string;
  /** What is wrong with it. */
  readonly reason: string;

  constructor(options: { path: string; reason: string; cause?: unknown }) {
    super(
      'OPENHANDS_EVENT_FILE_INVALID',
      `Cannot import the OpenHands event file "${options.path}": ${options.reason}. ` +
        'Nothing was written.',
      { cause: options.cause },
    );
    this.path = options.path;
    this.reason = options.reason;
  }

  static override isInstance(value: unknown): value is OpenHandsEventFileError {
    return isFerryErrorNamed(value, 'OpenHandsEventFileError');
  }

  protected override details() {
    return { path: this.path, reason: this.reason };
  }
}
