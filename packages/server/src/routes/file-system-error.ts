import { WorkspaceFileError } from '@ferry/sdk-core';
import type { WorkspaceFileErrorReason } from '@ferry/sdk-core';

const REASONS: Readonly<Record<string, WorkspaceFileErrorReason>> = {
  ENOENT: 'not_found',
  ENOTDIR: 'not_found',
  EISDIR: 'is_a_directory',
  EACCES: 'permission_denied',
  EPERM: 'permission_denied',
};

/** A failed system call on a workspace path, as the {@link WorkspaceFileError} to answer. */
export function toWorkspaceFileError(
  operation: string,
  path: string,
  error: unknown,
): WorkspaceFileError {
  const code =
    typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : '';
  return new WorkspaceFileError(operation, path, REASONS[code] ?? 'other', { cause: error });
}
