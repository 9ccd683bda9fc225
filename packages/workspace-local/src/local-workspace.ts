import { FerryError } from '@ferry/sdk-core';
import { realpath } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';

/** Options of {@link LocalWorkspace}. */
export interface LocalWorkspaceOptions {
  /** The folder the agent works in; relative paths resolve against it. */
  workingDir: string;
  /** Extra folders the agent may read and write besides `workingDir`. */
  allowedRoots?: readonly string[];
}

/** A path outside every allowed root, or one that escapes through `..` or a symlink. */
export class PathOutsideWorkspaceError extends FerryError {
  constructor(
    readonly path: string,
    readonly allowedRoots: readonly string[],
  ) {
    super(
      'PATH_OUTSIDE_WORKSPACE',
      `Path "${path}" is outside the workspace. Use a path under ${allowedRoots
        .map((root) => `"${root}"`)
        .join(' or ')}.`,
    );
  }
}

/** The host's files (and, later, shell and git) for an agent, confined to allowed roots. */
export class LocalWorkspace {
  readonly kind = 'LocalWorkspace';
  /** Absolute working directory. */
  readonly workingDir: string;
  readonly allowedRoots: readonly string[];

  constructor(options: LocalWorkspaceOptions) {
    this.workingDir = resolve(options.workingDir);
    this.allowedRoots = [this.workingDir, ...(options.allowedRoots ?? []).map((r) => resolve(r))];
  }

  /**
   * Resolves `path` (relative to `workingDir`) and checks it stays inside an allowed root,
   * following symlinks of the part that exists. Throws {@link PathOutsideWorkspaceError}.
   */
  async resolvePath(path: string): Promise<string> {
    const absolute = isAbsolute(path) ? resolve(path) : resolve(this.workingDir, path);
    const real = await realpathOfExistingPrefix(absolute);
    const roots = await Promise.all(
      this.allowedRoots.map((root) => realpathOfExistingPrefix(root)),
    );
    if (!roots.some((root) => isInside(real, root))) {
      throw new PathOutsideWorkspaceError(path, this.allowedRoots);
    }
    return absolute;
  }
}

function isInside(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/** realpath of the longest existing prefix, with the missing rest appended. */
async function realpathOfExistingPrefix(path: string): Promise<string> {
  let missing = '';
  let current = path;
  for (;;) {
    try {
      const real = await realpath(current);
      return missing === '' ? real : resolve(real, missing);
    } catch {
      const parent = resolve(current, '..');
      if (parent === current) return path;
      missing =
        missing === '' ? relative(parent, current) : `${relative(parent, current)}${sep}${missing}`;
      current = parent;
    }
  }
}
