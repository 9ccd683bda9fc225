import { FerryError, isFerryErrorNamed } from './ferry-error';

/**
 * A conversation bundle refused as hostile: an entry that would land outside its folder
 * (`../`, an absolute path), a symbolic or hard link, a device file, or a tar bomb (too many
 * entries).
 */
export class BundleSecurityError extends FerryError {
  /** The archive entry at fault, as written in the archive, if one is. */
  readonly entry: string | undefined;
  /** Why it was refused, as a verb phrase (`is a symbolic link`, `has more than 10 entries`). */
  readonly reason: string;

  constructor(options: { reason: string; entry?: string }) {
    super(
      'BUNDLE_UNSAFE',
      `Refusing the conversation bundle: ${
        options.entry === undefined ? 'it' : `entry "${options.entry}"`
      } ${options.reason}. Nothing was imported.`,
    );
    this.entry = options.entry;
    this.reason = options.reason;
  }

  static override isInstance(value: unknown): value is BundleSecurityError {
    return isFerryErrorNamed(value, 'BundleSecurityError');
  }

  protected override details() {
    return { entry: this.entry, reason: this.reason };
  }
}
