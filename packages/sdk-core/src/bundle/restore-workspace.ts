import { randomUUID } from 'node:crypto';
import type { Stats } from 'node:fs';
import { lstat, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { BundleConflictError } from '../errors/bundle-conflict-error';
import { BundleFormatError } from '../errors/bundle-format-error';
import { BundleSecurityError } from '../errors/bundle-security-error';
import type { FileStore } from '../persistence/file-store';
import { hasErrorCode } from '../persistence/system-error';
import { WORKSPACE_PREFIX, type BundleFile } from './bundle-manifest';
import { hashFile } from './workspace-files';

/** What {@link restoreWorkspace} needs. */
export interface RestoreWorkspaceInput {
  /** The staged workspace files, by their workspace-relative path. */
  staging: FileStore;
  /** The local folder to write them to. */
  dir: string;
  /** The bundle's workspace files, paths relative to the workspace. */
  files: BundleFile[];
  /** Replace files (and whatever stands in their way) whose content differs. */
  overwrite: boolean;
  conversationId: string;
}

interface PlannedWrite {
  file: BundleFile;
  destination: string;
  /** A file or folder in the way (the destination itself or a parent) to remove first. */
  blocker?: string;
}

/**
 * Writes the staged workspace files into `dir`. Files already there with the same content are
 * left alone; any that differ are a `BundleConflictError` listing them all, before anything is
 * written, unless `overwrite`. A symbolic link on the way to a file is refused
 * (`BundleSecurityError`): a bundle never writes outside the workspace. Each file is replaced
 * atomically (temp file, rename).
 */
export async function restoreWorkspace(input: RestoreWorkspaceInput): Promise<void> {
  const { dir } = input;
  await mkdir(dir, { recursive: true });
  const writes: PlannedWrite[] = [];
  const conflicts: string[] = [];
  for (const file of input.files) {
    const segments = file.path.split('/');
    const destination = join(dir, ...segments);
    let blocker: string | undefined;
    for (let depth = 1; depth < segments.length && blocker === undefined; depth += 1) {
      const parent = join(dir, ...segments.slice(0, depth));
      const stats = await lstatOrUndefined(parent);
      if (stats === undefined) break;
      if (stats.isSymbolicLink()) {
        throw new BundleSecurityError({
          entry: `${WORKSPACE_PREFIX}${file.path}`,
          reason: `would be written through the symbolic link ${parent}`,
        });
      }
      if (!stats.isDirectory()) blocker = parent;
    }
    const current = blocker === undefined ? await lstatOrUndefined(destination) : undefined;
    if (current?.isFile() === true) {
      if ((await hashFile(destination)).sha256 === file.sha256) continue;
    } else if (current !== undefined) {
      blocker = destination;
    }
    if (current !== undefined || blocker !== undefined) conflicts.push(file.path);
    writes.push({ file, destination, ...(blocker === undefined ? {} : { blocker }) });
  }
  if (conflicts.length > 0 && !input.overwrite) {
    throw new BundleConflictError({
      conversationId: input.conversationId,
      location: dir,
      files: conflicts,
    });
  }
  for (const { file, destination, blocker } of writes) {
    if (blocker !== undefined) await rm(blocker, { recursive: true, force: true });
    const data = await input.staging.read(file.path);
    if (data === undefined) {
      throw new BundleFormatError({
        entry: `${WORKSPACE_PREFIX}${file.path}`,
        problem: 'it was not staged',
      });
    }
    await replaceFile(destination, data, file.executable === true ? 0o755 : 0o644);
  }
}

async function replaceFile(path: string, data: Uint8Array, mode: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = join(dirname(path), `.${basename(path)}.${randomUUID()}.tmp`);
  try {
    await writeFile(temporary, data, { mode, flag: 'wx' });
    await rename(temporary, path);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

async function lstatOrUndefined(path: string): Promise<Stats | undefined> {
  try {
    return await lstat(path);
  } catch (error) {
    if (hasErrorCode(error, 'ENOENT')) return undefined;
    throw error;
  }
}
