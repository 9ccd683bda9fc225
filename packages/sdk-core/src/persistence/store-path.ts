import { FerryError } from '../errors/index';

/**
 * Splits a store path into its segments, resolving `.` and inner `..`. The root is `[]`.
 *
 * Refuses (with `INVALID_STORE_PATH`) absolute paths, paths that climb above the root, and
 * backslashes or NUL bytes, which would mean another path on another platform.
 */
export function storePathSegments(path: string): string[] {
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path) || /[\\\0]/.test(path)) {
    throw invalidPath(path, 'it must be relative to the store root and use "/" separators');
  }
  const segments: string[] = [];
  for (const segment of path.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (segments.pop() === undefined) throw invalidPath(path, 'it climbs above the store root');
      continue;
    }
    segments.push(segment);
  }
  return segments;
}

/** The normalised form of a store path: segments joined by `/`, `''` for the root. */
export function normalizeStorePath(path: string): string {
  return storePathSegments(path).join('/');
}

/** Joins a normalised folder and a normalised relative path. */
export function joinStorePath(dir: string, path: string): string {
  if (dir === '') return path;
  if (path === '') return dir;
  return `${dir}/${path}`;
}

/** The folder holding a normalised path (`''` for top-level entries and the root). */
export function parentStorePath(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash === -1 ? '' : path.slice(0, slash);
}

function invalidPath(path: string, reason: string): FerryError {
  return new FerryError('INVALID_STORE_PATH', `Refusing the store path "${path}": ${reason}.`);
}
