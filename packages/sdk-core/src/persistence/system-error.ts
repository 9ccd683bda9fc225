/** Whether `error` is a Node.js system error (or one shaped like it) with one of these codes. */
export function hasErrorCode(error: unknown, ...codes: string[]): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    'code' in error &&
    typeof error.code === 'string' &&
    codes.includes(error.code)
  );
}

/**
 * An error shaped like Node's file system errors (`code` such as `ENOENT`), so callers handle
 * the in-memory store and the local one alike.
 */
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
