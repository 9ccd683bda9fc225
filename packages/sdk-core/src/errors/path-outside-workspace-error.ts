import { FerryError, isFerryErrorNamed } from './ferry-error';

/**
 * A workspace path lies outside every allowed root, or escapes one through `..` or a symlink.
 * Nothing was read or written.
 */
export class PathOutsideWorkspaceError extends FerryError {
  constructor(
    readonly path: string,
    readonly allowedRoots: readonly string[],
  ) {
    super(
      'PATH_OUTSIDE_WORKSPACE',
      `Path "${path}" is outside the workspace. Use a path under ${allowedRoots
        .map((root) => `"${root}"`)
        .join(' or ')}.`,
    );
  }

  static override isInstance(value: unknown): value is PathOutsideWorkspaceError {
    return isFerryErrorNamed(value, 'PathOutsideWorkspaceError');
  }

  protected override details() {
    return { path: this.path, allowed_roots: [...this.allowedRoots] };
  }
}
