import { FerryError, isFerryErrorNamed } from './ferry-error';

/** A line of the event log, other than a torn last line, is not a valid event. */
export class CorruptEventLogError extends FerryError {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly reason: string,
  ) {
    super(
      'CORRUPT_EVENT_LOG',
      `The event log is corrupt at ${file}, line ${line}: ${reason}. Nothing was changed; ` +
        'repair or remove that line (keep a copy first) and open the conversation again.',
    );
  }

  static override isInstance(value: unknown): value is CorruptEventLogError {
    return isFerryErrorNamed(value, 'CorruptEventLogError');
  }

  protected override details() {
    return { file: this.file, line: this.line, reason: this.reason };
  }
}
