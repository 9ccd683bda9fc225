import { FerryError, isFerryErrorNamed } from './ferry-error';

/** An option passed to Ferry has a value it cannot use; nothing was written. */
export class InvalidOptionError extends FerryError {
  constructor(
    /** The option's name, as passed (e.g. `maxIterations`). */
    readonly option: string,
    /** What is wrong with the value. */
    readonly reason: string,
    options: { cause?: unknown } = {},
  ) {
    super(
      'INVALID_OPTION',
      `The option \`${option}\` is not valid: ${reason}. Nothing was written; pass a valid value.`,
      options,
    );
  }

  static override isInstance(value: unknown): value is InvalidOptionError {
    return isFerryErrorNamed(value, 'InvalidOptionError');
  }

  protected override details() {
    return { option: this.option, reason: this.reason };
  }
}
