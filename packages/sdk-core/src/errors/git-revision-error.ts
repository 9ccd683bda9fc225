import { FerryError, isFerryErrorNamed } from './ferry-error';

/** A git ref or commit given to compare with does not name a commit of the repository. */
export class GitRevisionError extends FerryError {
  constructor(
    readonly revision: string,
    readonly detail: string,
    options: { cause?: unknown } = {},
  ) {
    super('GIT_REVISION_NOT_FOUND', `"${revision}" does not name a commit: ${detail}`, options);
  }

  static override isInstance(value: unknown): value is GitRevisionError {
    return isFerryErrorNamed(value, 'GitRevisionError');
  }

  protected override details() {
    return { revision: this.revision };
  }
}
