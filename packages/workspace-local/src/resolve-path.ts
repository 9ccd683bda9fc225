import { PathOutsideWorkspaceError } from '@ferry/sdk-core';
import { lstat, readlink, realpath } from 'node:fs/promises';
import { basename, dirname, isAbsolute, relative, resolve, sep } from 'node:path';

/** Symlink hops followed before giving up, like the kernel's own limit. */
const MAX_SYMLINK_HOPS = 40;

/**
 * Resolves `path` against `workingDir` and checks that it, and whatever its existing part
 * points to through symlinks (dangling ones included), stays inside one of `allowedRoots`.
 * Returns the absolute, normalised path; throws {@link PathOutsideWorkspaceError}.
 */
export async function resolveConfinedPath(
  path: string,
  workingDir: string,
  allowedRoots: readonly string[],
): Promise<string> {
  const absolute = resolve(workingDir, path);
  const [real, ...roots] = await Promise.all([
    realTarget(absolute, 0),
    ...allowedRoots.map((root) => realTarget(root, 0)),
  ]);
  if (real === undefined || !roots.some((root) => root !== undefined && isInside(real, root))) {
    throw new PathOutsideWorkspaceError(path, allowedRoots);
  }
  return absolute;
}

function isInside(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/**
 * Where `path` really leads: the realpath of its longest existing prefix with the missing rest
 * appended, following dangling symlinks to their targets (writing through one would create
 * the target). `undefined` for a symlink loop, which nothing can be written through anyway.
 */
async function realTarget(path: string, hops: number): Promise<string | undefined> {
  if (hops > MAX_SYMLINK_HOPS) return undefined;
  try {
    return await realpath(path);
  } catch {
    const link = await lstat(path).catch(() => undefined);
    if (link?.isSymbolicLink() === true) {
      const target = await readlink(path);
      return realTarget(resolve(dirname(path), target), hops + 1);
    }
    const parent = dirname(path);
    if (parent === path) return path;
    const realParent = await realTarget(parent, hops);
    return realParent === undefined ? undefined : resolve(realParent, basename(path));
  }
}
