import { FerryError, isFerryErrorNamed } from './ferry-error';

/** A git query on a workspace failed: the path is not in a repository, or git itself failed. */
export class WorkspaceGitError extends FerryError {
  constructor(
    readonly path: string,
    readonly detail: string,
    options: { cause?: unknown } = {},
  ) {
    super('WORKSPACE_GIT_ERROR', `Git failed for "${path}": ${detail}`, options);
  }

  static override isInstance(value: unknown): value is WorkspaceGitError {
    return isFerryErrorNamed(value, 'WorkspaceGitError');
  }

  protected override details() {
    return { path: this.path, detail: this.detail };
  }
}
