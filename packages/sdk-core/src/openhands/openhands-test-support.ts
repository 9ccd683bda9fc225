/** Helpers shared by the OpenHands transfer tests (not part of the public API). */
import { readFile, readdir, writeFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openHandsEventFileName } from './openhands-layout';

const fixtures = fileURLToPath(new URL('../../fixtures/openhands/', import.meta.url));

/** The real OpenHands documents shipped as fixtures: a base state and a sample of events. */
export async function openHandsFixtures(): Promise<{
  baseState: Record<string, unknown>;
  events: Record<string, unknown>[];
}> {
  const baseState = JSON.parse(
    await readFile(join(fixtures, 'base_state.v1_11_5.json'), 'utf8'),
  ) as Record<string, unknown>;
  const events = (await readFile(join(fixtures, 'events.sample.jsonl'), 'utf8'))
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as Record<string, unknown>);
  return { baseState, events };
}

/**
 * Lays out an OpenHands conversation folder as OpenHands' `EventLog` writes it (one JSON file an
 * event, compact as pydantic dumps it) in `<root>/<id without dashes>`; returns the folder.
 */
export async function writeOpenHandsFolder(options: {
  root: string;
  baseState: Record<string, unknown>;
  events: readonly Record<string, unknown>[];
  meta?: Record<string, unknown>;
}): Promise<string> {
  const folder = join(options.root, String(options.baseState.id).replaceAll('-', ''));
  await mkdir(join(folder, 'events'), { recursive: true });
  await writeFile(join(folder, 'base_state.json'), JSON.stringify(options.baseState));
  if (options.meta !== undefined) {
    await writeFile(join(folder, 'meta.json'), JSON.stringify(options.meta));
  }
  for (const [index, event] of options.events.entries()) {
    await writeFile(
      join(folder, 'events', openHandsEventFileName(index, String(event.id))),
      JSON.stringify(event),
    );
  }
  return folder;
}

/** The events of an OpenHands folder, in index order, as parsed JSON. */
export async function readOpenHandsFolderEvents(
  folder: string,
): Promise<{ name: string; event: Record<string, unknown> }[]> {
  const names = (await readdir(join(folder, 'events'))).sort();
  return Promise.all(
    names.map(async (name) => ({
      name,
      event: JSON.parse(await readFile(join(folder, 'events', name), 'utf8')) as Record<
        string,
        unknown
      >,
    })),
  );
}

/** Every file under `dir`, as text, by relative path. */
export async function readTree(dir: string): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files.set(path.slice(dir.length + 1), await readFile(path, 'utf8'));
  }
  return files;
}
