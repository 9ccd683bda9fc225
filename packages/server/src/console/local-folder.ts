import {
  BASE_STATE_FILE,
  CorruptEventLogError,
  FerryError,
  LocalFileStore,
  conversationStateSchema,
  isStoredEvent,
  readJson,
  redactState,
  segmentNumber,
  type StoredEvent,
} from '@ferry/sdk-core';
import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ConversationRecord } from '../conversations/conversation-manager';
import { CONVERSATION_FOLDER, folderOf, idOfFolder } from '../conversations/conversation-id';

function hasCode(error: unknown, code: string): boolean {
  return (error as { code?: unknown } | null)?.code === code;
}

interface CachedSegment {
  size: number;
  mtimeMs: number;
  events: StoredEvent[];
}

/**
 * Reads a local persistence folder (`<folder>/<id without dashes>/`) without writing to it and
 * without taking any lock, so it can watch conversations an SDK process is running right now.
 * A last line still being appended is left for the next read, never cut off; unchanged event
 * segments are read once.
 */
export class LocalFolderReader {
  readonly folder: string;
  readonly #segments = new Map<string, CachedSegment>();
  readonly #store: LocalFileStore;

  constructor(folder: string) {
    this.folder = resolve(folder);
    this.#store = new LocalFileStore({ root: this.folder });
  }

  /** Every conversation in the folder, from its state file (secrets redacted). */
  async list(): Promise<ConversationRecord[]> {
    let names: string[];
    try {
      names = await readdir(this.folder);
    } catch (error) {
      if (hasCode(error, 'ENOENT')) return [];
      throw error;
    }
    const records = await Promise.all(
      names
        .filter((name) => CONVERSATION_FOLDER.test(name))
        .map((name) => this.find(idOfFolder(name)).catch(() => undefined)),
    );
    return records.filter((record): record is ConversationRecord => record !== undefined);
  }

  /** One conversation, or `undefined` when the folder holds no state for it. */
  async find(id: string): Promise<ConversationRecord | undefined> {
    const folder = join(this.folder, folderOf(id));
    const path = join(folder, BASE_STATE_FILE);
    const document = await readJson(this.#store, join(folderOf(id), BASE_STATE_FILE)).catch(
      (error: unknown) => {
        // A name in the folder that is a file, not a conversation folder.
        if (hasCode(error, 'ENOTDIR')) return undefined;
        throw error;
      },
    );
    if (document === undefined) return undefined;
    const parsed = conversationStateSchema.safeParse(document);
    if (!parsed.success) {
      throw new FerryError('INVALID_STATE_DOCUMENT', `${path} is not a valid conversation state.`, {
        cause: parsed.error,
      });
    }
    const [folderStat, stateStat] = await Promise.all([stat(folder), stat(path)]);
    const segments = await this.#segmentFiles(folder);
    const last = segments.at(-1);
    const lastTime = last === undefined ? 0 : (await stat(last)).mtimeMs;
    const born = folderStat.birthtimeMs > 0 ? folderStat.birthtimeMs : folderStat.ctimeMs;
    const state = parsed.data;
    return {
      state: redactState(state),
      createdAt:
        typeof state.created_at === 'string' ? state.created_at : new Date(born).toISOString(),
      updatedAt: new Date(Math.max(stateStat.mtimeMs, lastTime)).toISOString(),
    };
  }

  /** The conversation's events, in log order. */
  async events(id: string): Promise<StoredEvent[]> {
    const events: StoredEvent[] = [];
    for (const file of await this.#segmentFiles(join(this.folder, folderOf(id)))) {
      events.push(...(await this.#readSegment(file)));
    }
    return events;
  }

  async #segmentFiles(folder: string): Promise<string[]> {
    let names: string[];
    try {
      names = await readdir(join(folder, 'events'));
    } catch (error) {
      if (hasCode(error, 'ENOENT')) return [];
      throw error;
    }
    return names
      .map((name) => ({ name, number: segmentNumber(name) }))
      .filter((entry): entry is { name: string; number: number } => entry.number !== undefined)
      .sort((left, right) => left.number - right.number)
      .map((entry) => join(folder, 'events', entry.name));
  }

  async #readSegment(file: string): Promise<StoredEvent[]> {
    const info = await stat(file);
    const cached = this.#segments.get(file);
    if (cached !== undefined && cached.size === info.size && cached.mtimeMs === info.mtimeMs) {
      return cached.events;
    }
    const lines = (await readFile(file, 'utf8')).split('\n');
    // The text after the last newline is an append in progress (or nothing): read it next time.
    lines.pop();
    const events: StoredEvent[] = [];
    for (const [index, line] of lines.entries()) {
      if (line.trim() === '') continue;
      let value: unknown;
      try {
        value = JSON.parse(line) as unknown;
      } catch {
        throw new CorruptEventLogError(file, index + 1, 'not valid JSON');
      }
      if (!isStoredEvent(value)) {
        throw new CorruptEventLogError(file, index + 1, 'not an event (id, kind, timestamp)');
      }
      events.push(value);
    }
    this.#segments.set(file, { size: info.size, mtimeMs: info.mtimeMs, events });
    return events;
  }
}
