import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * `<dataDir>/.uploads`: where earlier releases staged bundles being received, one folder per
 * server process (bundles are imported as they arrive now).
 */
export const UPLOADS_FOLDER = '.uploads';
/** A manager's uploads folder: `<pid>-<uuid>`. */
const UPLOADS_OWNER = /^(\d+)-[0-9a-f-]{36}$/;

export async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return hasCode(error, 'EPERM');
  }
}

/**
 * Removes what crashed servers left in `<dataDir>/.uploads`: the folders of processes that are
 * gone, and loose files of older versions, keeping the folders of live servers.
 */
export async function removeAbandonedUploads(uploads: string): Promise<void> {
  let names: string[];
  try {
    names = await readdir(uploads);
  } catch (error) {
    if (hasCode(error, 'ENOENT')) return;
    throw error;
  }
  for (const name of names) {
    const owner = UPLOADS_OWNER.exec(name)?.[1];
    if (owner !== undefined && isProcessAlive(Number(owner))) continue;
    await rm(join(uploads, name), { recursive: true, force: true });
  }
}

/**
 * `mkdir -p`, failing with the real cause: on a read-only file system Node's recursive mkdir
 * reports `ENOENT` for a folder whose parent exists, so that case is asked again directly
 * (and answers `EROFS`, which the server turns into a 503).
 */
export async function makeFolder(path: string): Promise<void> {
  try {
    await mkdir(path, { recursive: true });
  } catch (error) {
    if (!hasCode(error, 'ENOENT')) throw error;
    try {
      await mkdir(path);
    } catch (direct) {
      if (hasCode(direct, 'EEXIST')) return;
      throw direct;
    }
  }
}

export function hasCode(error: unknown, code: string): boolean {
  return (error as { code?: unknown } | null)?.code === code;
}
