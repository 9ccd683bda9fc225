import { WORKSPACE_FILE_PREFIX } from './workspace-prefix';
import type { BundleManifest, FileStore } from '@ferry/sdk-core';
import { z } from 'zod';

/** The side file, in a conversation's folder, that remembers its workspace as it left. */
export const DEPARTURE_FILE = 'teleport-departure.json';

const departureSchema = z.object({
  bundle_id: z.string(),
  to: z.string(),
  /** SHA-256 of each workspace file as it left, by workspace-relative path. */
  workspace_files: z.record(z.string(), z.string()),
});
export type DepartureRecord = z.infer<typeof departureSchema>;

/** Writes what the workspace held when the conversation left with `manifest`. */
export async function writeDeparture(
  store: FileStore,
  manifest: BundleManifest,
  to: string,
): Promise<void> {
  const files: Record<string, string> = {};
  for (const file of manifest.files) {
    if (file.path.startsWith(WORKSPACE_FILE_PREFIX)) {
      files[file.path.slice(WORKSPACE_FILE_PREFIX.length)] = file.sha256;
    }
  }
  const record: DepartureRecord = { bundle_id: manifest.bundle_id, to, workspace_files: files };
  await store.writeAtomic(DEPARTURE_FILE, `${JSON.stringify(record, null, 2)}\n`);
}

/** The departure record of the parked conversation in `store`, if it has a readable one. */
export async function readDeparture(store: FileStore): Promise<DepartureRecord | undefined> {
  const text = await store.readText(DEPARTURE_FILE);
  if (text === undefined) return undefined;
  try {
    const parsed = departureSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
