import { FerryError, isFerryErrorNamed } from './ferry-error';

/** A bundle (or the workspace to put in one) is over its size limit. */
export class BundleTooLargeError extends FerryError {
  /** What is too large: `workspace`, `bundle`, or `entry "<path>"`. */
  readonly subject: string;
  /** Its size in bytes (or the size it had reached when the limit was crossed). */
  readonly size: number;
  /** The limit in bytes. */
  readonly limit: number;
  /** The option that sets the limit (`maxWorkspaceBytes`, `maxBytes`). */
  readonly option: string;

  constructor(options: { subject: string; size: number; limit: number; option: string }) {
    super(
      'BUNDLE_TOO_LARGE',
      `The ${options.subject} is ${options.size} bytes, over the limit of ${options.limit} ` +
        `bytes. Raise \`${options.option}\` if this is expected.`,
    );
    this.subject = options.subject;
    this.size = options.size;
    this.limit = options.limit;
    this.option = options.option;
  }

  static override isInstance(value: unknown): value is BundleTooLargeError {
    return isFerryErrorNamed(value, 'BundleTooLargeError');
  }

  protected override details() {
    return { subject: this.subject, size: this.size, limit: this.limit, option: this.option };
  }
}
