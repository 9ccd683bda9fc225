import { FerryError, isFerryErrorNamed } from './ferry-error';

/** Why a workspace file operation failed; stable values a caller can switch on. */
export type WorkspaceFileErrorReason =
  'not_found' | 'is_a_directory' | 'not_a_directory' | 'permission_denied' | 'other';

const ADVICE: Record<WorkspaceFileErrorReason, string> = {
  not_found: 'it does not exist',
  is_a_directory: 'it is a directory, not a file',
  not_a_directory: 'it (or a parent of it) is not a directory',
  permission_denied: 'permission denied',
  other: 'the operation failed',
};

/** A workspace file operation failed: a missing file, a directory where a file was expected, ... */
export class WorkspaceFileError extends FerryError {
  constructor(
    readonly operation: string,
    readonly path: string,
    readonly reason: WorkspaceFileErrorReason,
    options: { cause?: unknown } = {},
  ) {
    super('WORKSPACE_FILE_ERROR', `Cannot ${operation} "${path}": ${ADVICE[reason]}.`, options);
  }

  static override isInstance(value: unknown): value is WorkspaceFileError {
    return isFerryErrorNamed(value, 'WorkspaceFileError');
  }

  protected override details() {
    return { operation: this.operation, path: this.path, reason: this.reason };
  }
}
