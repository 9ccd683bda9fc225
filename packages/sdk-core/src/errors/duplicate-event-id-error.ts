import { FerryError, isFerryErrorNamed } from './ferry-error';

/** An event was appended to a log that already holds an event with the same id. */
export class DuplicateEventIdError extends FerryError {
  constructor(
    readonly id: string,
    readonly log: string,
  ) {
    super(
      'DUPLICATE_EVENT_ID',
      `The event log at ${log} already holds an event with id "${id}"; event ids must be unique. ` +
        'Give the new event a fresh id.',
    );
  }

  static override isInstance(value: unknown): value is DuplicateEventIdError {
    return isFerryErrorNamed(value, 'DuplicateEventIdError');
  }

  protected override details() {
    return { id: this.id, log: this.log };
  }
}
