import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Where the server's settings document lives: read whole, replaced whole. `update` applies
 * `change` to the current text and writes its result, one update after the other; when
 * `change` throws, nothing is written and the error reaches the caller.
 */
export interface SettingsBacking {
  read(): Promise<string | undefined>;
  update(change: (current: string | undefined) => string): Promise<void>;
  /** Where the document lives, for messages. */
  readonly location: string;
}

/** The name of the settings document in a shared database. */
export const SETTINGS_DOCUMENT = 'server-settings';

/** `<dataDir>/settings.json`, written to a temporary file then renamed, mode 0600. */
export function fileSettingsBacking(dataDir: string): SettingsBacking {
  const file = join(dataDir, 'settings.json');
  let queue: Promise<unknown> = Promise.resolve();
  const read = () =>
    readFile(file, 'utf8').catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    });
  return {
    location: file,
    read,
    update(change) {
      const next = queue.then(async () => {
        const text = change(await read());
        await mkdir(dataDir, { recursive: true });
        const temporary = `${file}.${process.pid}.tmp`;
        await writeFile(temporary, text, { mode: 0o600 });
        await rename(temporary, file);
      });
      queue = next.catch(() => undefined);
      return next;
    },
  };
}

/** A store that keeps named documents for every replica sharing it (`PostgresStore`). */
export interface DocumentStore {
  readDocument(name: string): Promise<string | undefined>;
  updateDocument(name: string, change: (current: string | undefined) => string): Promise<void>;
  describe(conversationId?: string): string;
}

/** The settings document in a cluster's database, so that every replica sees the same. */
export function documentSettingsBacking(store: DocumentStore): SettingsBacking {
  return {
    location: `${store.describe()} document ${SETTINGS_DOCUMENT}`,
    read: () => store.readDocument(SETTINGS_DOCUMENT),
    update: (change) => store.updateDocument(SETTINGS_DOCUMENT, change),
  };
}
