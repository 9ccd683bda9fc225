import { cp, lstat, rename } from 'node:fs/promises';
import { ConversationExistsError } from '../errors/conversation-exists-error';
import { join } from 'node:path';

/** How far a transfer between Ferry and OpenHands is. */
export interface OpenHandsTransferProgress {
  /** Events done so far. */
  events: number;
  /** Events in all. */
  totalEvents: number;
}

/** How often (in events) progress is reported. */
const PROGRESS_STEP = 500;

/** A progress callback for `total` events: every {@link PROGRESS_STEP} events and at the end. */
export function reportEvery(
  total: number,
  onProgress: ((progress: OpenHandsTransferProgress) => void) | undefined,
): (done: number) => void {
  if (onProgress === undefined) return () => undefined;
  if (total === 0) onProgress({ events: 0, totalEvents: 0 });
  return (done) => {
    if (done % PROGRESS_STEP === 0 || done === total)
      onProgress({ events: done, totalEvents: total });
  };
}

/** Whether anything (a file, a folder, a link) is at `path`. */
export async function pathExists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return false;
    throw error;
  }
}

/**
 * Copies the named files and folders of `from` that exist into `to`. Symbolic links are left
 * out: a folder from elsewhere must not plant a link to anywhere in a conversation.
 */
export async function copySideFiles(
  from: string,
  to: string,
  names: readonly string[],
): Promise<void> {
  for (const name of names) {
    const source = join(from, name);
    if (!(await pathExists(source))) continue;
    await cp(source, join(to, name), {
      recursive: true,
      errorOnExist: true,
      filter: async (path) => !(await lstat(path)).isSymbolicLink(),
    });
  }
}

/** Renames the finished folder into place; a folder that appeared meanwhile is a conflict. */
export async function renameIntoPlace(
  staging: string,
  location: string,
  conversationId: string,
): Promise<void> {
  // rename(2) replaces an empty folder silently: check first, and let a non-empty one fail it.
  if (await pathExists(location)) throw new ConversationExistsError({ conversationId, location });
  try {
    await rename(staging, location);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (code === 'ENOTEMPTY' || code === 'EEXIST') {
      throw new ConversationExistsError({ conversationId, location });
    }
    throw error;
  }
}
