import { FerryError, isFerryErrorNamed } from './ferry-error';

/**
 * A conversation bundle that cannot be read: not a gzip tar, no or an invalid `manifest.json`,
 * an unsupported format or version, or a file whose size or SHA-256 differs from the manifest.
 */
export class BundleFormatError extends FerryError {
  /** The bundle entry at fault (`manifest.json`, `events/segment-000001.jsonl`, ...), if one is. */
  readonly entry: string | undefined;
  /** What is wrong, in words. */
  readonly problem: string;

  constructor(options: { problem: string; entry?: string; cause?: unknown }) {
    super(
      'BUNDLE_INVALID',
      `Invalid conversation bundle${options.entry === undefined ? '' : ` (${options.entry})`}: ` +
        `${options.problem}. Nothing was imported.`,
      { cause: options.cause },
    );
    this.entry = options.entry;
    this.problem = options.problem;
  }

  static override isInstance(value: unknown): value is BundleFormatError {
    return isFerryErrorNamed(value, 'BundleFormatError');
  }

  protected override details() {
    return { entry: this.entry, problem: this.problem };
  }
}
