import { FerryError } from '../errors/index';
import type { FileStore } from './file-store';

/** The on-disk form of a JSON document: 2-space indentation and a trailing newline. */
export function formatJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** Replaces a JSON document atomically (see `FileStore.writeAtomic`). */
export async function writeJsonAtomic(
  store: FileStore,
  path: string,
  value: unknown,
): Promise<void> {
  await store.writeAtomic(path, formatJson(value));
}

/**
 * Reads and parses a JSON document; `undefined` when the file does not exist. The result is
 * unchecked: validate it (with its zod schema) before use. Invalid JSON is a `FerryError` of code
 * `INVALID_JSON_FILE` naming the file.
 */
export async function readJson(store: FileStore, path: string): Promise<unknown> {
  const text = await store.readText(path);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new FerryError(
      'INVALID_JSON_FILE',
      `${store.describe(path)} is not valid JSON (${messageOf(error)}). Restore it from a backup ` +
        'or remove it.',
      { cause: error },
    );
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
