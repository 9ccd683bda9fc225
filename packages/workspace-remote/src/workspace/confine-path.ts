import { PathOutsideWorkspaceError } from '@ferry/sdk-core';
import { posix } from 'node:path';

/** True when `path` (absolute, normalised) is `root` or lies under it. */
export function isInside(path: string, root: string): boolean {
  return path === root || path.startsWith(root === '/' ? '/' : `${root}/`);
}

/**
 * Resolves `path` against `workingDir` on the server's (POSIX) file system and refuses, before
 * any request, one that climbs out through `..` or names an absolute path elsewhere. Symlinks
 * are checked on the server (see `confinementCheck`).
 */
export function confinePath(path: string, workingDir: string): string {
  const absolute = posix.resolve(workingDir, path);
  if (!isInside(absolute, workingDir)) throw new PathOutsideWorkspaceError(path, [workingDir]);
  return absolute;
}
