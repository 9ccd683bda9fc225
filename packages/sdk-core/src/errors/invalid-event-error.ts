import { FerryError, isFerryErrorNamed } from './ferry-error';

/** A stored event of a known kind does not match that kind's schema. */
export class InvalidEventError extends FerryError {
  constructor(
    readonly eventId: string,
    readonly kind: string,
    readonly reason: string,
    options: { cause?: unknown } = {},
  ) {
    super('INVALID_EVENT', `Event ${eventId} (${kind}) is not valid: ${reason}`, options);
  }

  static override isInstance(value: unknown): value is InvalidEventError {
    return isFerryErrorNamed(value, 'InvalidEventError');
  }

  protected override details() {
    return { event_id: this.eventId, kind: this.kind, reason: this.reason };
  }
}
