import { realpath } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';
import { folderOf } from './conversation-id';

function isInside(root: string, path: string): boolean {
  return path === root || path.startsWith(root.endsWith(sep) ? root : `${root}${sep}`);
}

/** The real path of `path`, or of its nearest existing ancestor joined with the rest. */
async function realpathOfExisting(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch {
    const parent = dirname(path);
    if (parent === path) return path;
    const real = await realpathOfExisting(parent);
    return resolve(real, path.slice(parent.length + 1));
  }
}

/** Options of {@link resolveWorkingDir}. */
export interface ResolveWorkingDirOptions {
  /** The workspace root, absolute. */
  workspaceRoot: string;
  /** Its real path (symlinks resolved). */
  realWorkspaceRoot: string;
  /** The conversation's canonical id. */
  conversationId: string;
  /** What the client asked for (`workspace.working_dir`), or what the state recorded. */
  requested: string | null | undefined;
  /**
   * Sandboxed servers: the workspace root itself is never a conversation's folder (its sandbox
   * would hold every other conversation's), so asking for it gives the conversation's own.
   */
  refuseRoot?: boolean;
}

/**
 * Where a conversation works on this server. The requested folder (a relative one is taken
 * from the workspace root) when it lies inside the workspace root, symlinks included; otherwise
 * `<workspaceRoot>/<id without dashes>`. A client's laptop path or `/workspace` therefore lands
 * in a folder of its own under the root; `ConversationInfo.workspace.working_dir` says where.
 */
export async function resolveWorkingDir(options: ResolveWorkingDirOptions): Promise<string> {
  const { workspaceRoot, realWorkspaceRoot, conversationId, requested } = options;
  const own = resolve(workspaceRoot, folderOf(conversationId));
  if (requested === undefined || requested === null || requested.trim() === '') return own;
  const candidate = resolve(workspaceRoot, requested);
  if (!isInside(workspaceRoot, candidate) && !isInside(realWorkspaceRoot, candidate)) return own;
  const real = await realpathOfExisting(candidate);
  if (options.refuseRoot === true && real === realWorkspaceRoot) return own;
  return isInside(realWorkspaceRoot, real) ? candidate : own;
}

/** Response header of `POST /api/conversations` saying the requested working folder was not used. */
export const WORKING_DIR_MOVED_HEADER = 'x-ferry-working-dir-moved';

/**
 * The value of {@link WORKING_DIR_MOVED_HEADER} for a new conversation: the requested folder,
 * percent-encoded (a header holds ASCII only), when the conversation works elsewhere because
 * that folder lies outside the workspace root; `undefined` when it works where it asked.
 */
export function workingDirMovedHeader(options: {
  workspaceRoot: string;
  requested: string | null | undefined;
  actual: string;
}): string | undefined {
  const { requested, actual } = options;
  if (requested === undefined || requested === null || requested.trim() === '') return undefined;
  return resolve(options.workspaceRoot, requested) === actual
    ? undefined
    : encodeURIComponent(requested);
}
