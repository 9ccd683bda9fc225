import { FerryError, WorkspaceFileError, WorkspaceGitError } from '@ferry/sdk-core';
import { describe, expect, it } from 'vitest';
import {
  STORAGE_RETRY_AFTER_SECONDS,
  httpStatusOf,
  retryAfterOf,
  serverErrors,
  storageErrorOf,
} from './http-status';

function errnoError(code: string): NodeJS.ErrnoException {
  return Object.assign(
    new Error(`${code}: failed, open '/srv/ferry/secret-path/base_state.json'`),
    {
      code,
      syscall: 'open',
    },
  );
}

describe('the one status table', () => {
  it('answers one status per workspace error, whichever route raised it', () => {
    expect(httpStatusOf(new WorkspaceFileError('read', 'a.txt', 'permission_denied'))).toBe(403);
    expect(httpStatusOf(new WorkspaceFileError('read', 'a.txt', 'not_found'))).toBe(404);
    expect(httpStatusOf(new WorkspaceFileError('read', 'folder', 'is_a_directory'))).toBe(400);
    expect(httpStatusOf(new WorkspaceGitError('loose.txt', 'not a git repository'))).toBe(422);
    expect(httpStatusOf(serverErrors.uploadFileMissing())).toBe(400);
    expect(httpStatusOf(serverErrors.gitRefWithCommit())).toBe(400);
    expect(httpStatusOf(serverErrors.bashEventNotFound('nope'))).toBe(404);
  });

  it('answers 503 with Retry-After when the disk refused a write', () => {
    for (const code of ['EVENT_LOG_WRITE_FAILED', 'STATE_WRITE_FAILED', 'BUNDLE_IMPORT_FAILED']) {
      const error = new FerryError(code, 'the disk said no');
      expect(httpStatusOf(error)).toBe(503);
      expect(retryAfterOf(error)).toBe(STORAGE_RETRY_AFTER_SECONDS);
    }
    expect(retryAfterOf(serverErrors.conversationNotFound('x'))).toBeUndefined();
  });

  it('turns raw disk errors of the server data into STORAGE_UNAVAILABLE without their paths', () => {
    for (const code of ['EROFS', 'ENOSPC', 'EDQUOT', 'EIO', 'EACCES', 'EPERM']) {
      const error = storageErrorOf(errnoError(code));
      expect(error?.code).toBe('STORAGE_UNAVAILABLE');
      expect(error?.message).toContain(code);
      expect(error?.message).not.toContain('secret-path');
      expect(httpStatusOf(error as FerryError)).toBe(503);
    }
    expect(storageErrorOf(errnoError('ENOENT'))).toBeUndefined();
    expect(storageErrorOf(new Error('plain'))).toBeUndefined();
    const spawnFailure = Object.assign(new Error('spawn EACCES'), {
      code: 'EACCES',
      syscall: 'spawn git',
    });
    expect(storageErrorOf(spawnFailure)).toBeUndefined();
    expect(storageErrorOf(new FerryError('STATE_WRITE_FAILED', 'typed already'))).toBeUndefined();
  });
});
