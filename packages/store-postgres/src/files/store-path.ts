import { FerryError } from '@ferry/sdk-core';

// A private copy of sdk-core's store-path rules (requested as a public export in
// STORE_REQUESTS), so side files refuse the same paths in every store.

/** The normalised form of a store path: `/`-joined segments, `''` for the root. */
export function normalizeStorePath(path: string): string {
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
  return segments.join('/');
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

/** The folders above a normalised path, nearest first, without the root. */
export function ancestorsOf(path: string): string[] {
  const folders: string[] = [];
  for (let folder = parentStorePath(path); folder !== ''; folder = parentStorePath(folder)) {
    folders.push(folder);
  }
  return folders;
}

/** An error shaped like Node's file system errors, as the other stores raise them. */
export function systemError(code: string, operation: string, location: string): Error {
  const messages: Record<string, string> = {
    ENOENT: 'no such file or directory',
    EISDIR: 'illegal operation on a directory',
    ENOTDIR: 'not a directory',
    ENOTEMPTY: 'directory not empty',
    EEXIST: 'file already exists',
    EINVAL: 'invalid argument',
  };
  const error = new Error(`${code}: ${messages[code] ?? 'error'}, ${operation} '${location}'`);
  return Object.assign(error, { code, syscall: operation, path: location });
}

function invalidPath(path: string, reason: string): FerryError {
  return new FerryError('INVALID_STORE_PATH', `Refusing the store path "${path}": ${reason}.`);
}
