import type { BundleManifest } from '@ferry/sdk-core';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import type { DepartureRecord } from './departure-record';
import { WORKSPACE_FILE_PREFIX } from './workspace-prefix';

async function sha256(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path) as AsyncIterable<Buffer>) hash.update(chunk);
  return hash.digest('hex');
}

/**
 * The incoming workspace files that would overwrite local work: a file that exists here with
 * other content than the bundle's, and that changed here since the conversation left (its hash
 * differs from the departure record's; without a record, any difference counts). Files the
 * other side changed while the local copy stayed as it left are not conflicts: they come back.
 */
export async function workspaceConflicts(options: {
  manifest: BundleManifest;
  workspaceDir: string;
  departure: DepartureRecord | undefined;
}): Promise<string[]> {
  const conflicts: string[] = [];
  for (const file of options.manifest.files) {
    if (!file.path.startsWith(WORKSPACE_FILE_PREFIX)) continue;
    const path = file.path.slice(WORKSPACE_FILE_PREFIX.length);
    const local = join(options.workspaceDir, ...path.split('/'));
    let stats;
    try {
      stats = await lstat(local);
    } catch (error) {
      // A file where one of its folders should be is in the way; a missing one is not.
      if ((error as { code?: unknown }).code === 'ENOTDIR') conflicts.push(path);
      continue;
    }
    if (!stats.isFile()) {
      conflicts.push(path);
      continue;
    }
    const current = await sha256(local);
    if (current === file.sha256) continue;
    if (options.departure?.workspace_files[path] !== current) conflicts.push(path);
  }
  return conflicts;
}
