import { FerryError, WorkspaceFileError } from '@ferry/sdk-core';
import type { WorkspaceFileErrorReason } from '@ferry/sdk-core';

const REASONS: Record<string, WorkspaceFileErrorReason> = {
  ENOENT: 'not_found',
  EISDIR: 'is_a_directory',
  ENOTDIR: 'not_a_directory',
  EACCES: 'permission_denied',
  EPERM: 'permission_denied',
};

/** The Node error code of a failed system call, if it has one. */
export function systemErrorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null || !('code' in error)) return undefined;
  return typeof error.code === 'string' ? error.code : undefined;
}

/** The error to throw for a failed file operation: system errors become {@link WorkspaceFileError}. */
export function toFileError(operation: string, path: string, error: unknown): unknown {
  if (FerryError.isInstance(error)) return error;
  const reason = REASONS[systemErrorCode(error) ?? ''] ?? 'other';
  return new WorkspaceFileError(operation, path, reason, { cause: error });
}

/** Runs a file operation, turning system errors into {@link WorkspaceFileError}. */
export async function withFileErrors<T>(
  operation: string,
  path: string,
  action: () => Promise<T>,
): Promise<T> {
  try {
    return await action();
  } catch (error) {
    throw toFileError(operation, path, error);
  }
}
