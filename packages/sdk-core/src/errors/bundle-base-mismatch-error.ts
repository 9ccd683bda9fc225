import { FerryError, isFerryErrorNamed } from './ferry-error';

/**
 * A delta bundle does not extend what the destination holds: the destination's copy of the
 * conversation is missing, or diverged from the base the delta was made against (a file edited,
 * the log truncated or extended since, a different fork). Nothing was changed; send the whole
 * conversation instead (a teleport does so by itself).
 */
export class BundleBaseMismatchError extends FerryError {
  readonly conversationId: string;
  /** What differs, in words (which file, and how). */
  readonly problem: string;

  constructor(options: { conversationId: string; problem: string }) {
    super(
      'BUNDLE_BASE_MISMATCH',
      `The delta bundle of conversation ${options.conversationId} does not extend the copy ` +
        `here: ${options.problem}. Nothing was changed; send the whole conversation instead.`,
    );
    this.conversationId = options.conversationId;
    this.problem = options.problem;
  }

  static override isInstance(value: unknown): value is BundleBaseMismatchError {
    return isFerryErrorNamed(value, 'BundleBaseMismatchError');
  }

  protected override details() {
    return { conversation_id: this.conversationId, problem: this.problem };
  }
}
