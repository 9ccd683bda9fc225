/** The longest path a bundle may hold, in characters. */
export const MAX_BUNDLE_PATH_LENGTH = 4096;

/**
 * Why `path` cannot name a file in a bundle, as a verb phrase (`undefined` when it can). A
 * bundle path is relative, `/`-separated, and every segment is a plain name: nothing that could
 * land outside the folder it is extracted to, on any platform.
 */
export function bundlePathProblem(path: string): string | undefined {
  if (path === '') return 'has an empty path';
  if (path.length > MAX_BUNDLE_PATH_LENGTH) {
    return `has a path longer than ${MAX_BUNDLE_PATH_LENGTH} characters`;
  }
  if (path.includes('\0')) return 'has a NUL byte in its path';
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path)) return 'has an absolute path';
  if (path.includes('\\')) return 'has a backslash in its path';
  const segments = path.split('/');
  if (segments.includes('..')) return 'climbs out of its folder with ".."';
  if (segments.some((segment) => segment === '' || segment === '.')) {
    return 'has an empty or "." segment in its path';
  }
  return undefined;
}
