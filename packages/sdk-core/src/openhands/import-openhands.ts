import { randomUUID } from 'node:crypto';
import { mkdir, readFile, readdir, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { canonicalId } from '../bundle/conversation-id';
import { conversationFolderName } from '../store/conversation-id';
import { BASE_STATE_FILE } from '../store/file-layout';
import { conversationStateSchema, type ConversationState } from '../conversation/state-schema';
import { OpenHandsConversationFormatError } from '../errors/openhands-conversation-format-error';
import { OpenHandsEventFileError } from '../errors/openhands-event-file-error';
import { ConversationExistsError } from '../errors/conversation-exists-error';
import { isKnownEventKind, safeParseEvent } from '../event/parse-event';
import { EventLog } from '../persistence/event-log';
import { writeJsonAtomic } from '../persistence/json-file';
import { LocalFileStore } from '../persistence/local-file-store';
import type { StoredEvent } from '../persistence/stored-event';
import { redactState } from '../secrets/secret-codec';
import {
  FERRY_EXPORT_FILE,
  OPENHANDS_BASE_STATE_FILE,
  OPENHANDS_EVENTS_DIR,
  OPENHANDS_META_FILE,
  SHARED_SIDE_FILES,
  ferryExportRecordSchema,
  parseOpenHandsEventFileName,
  type FerryExportRecord,
} from './openhands-layout';
import {
  copySideFiles,
  pathExists,
  renameIntoPlace,
  reportEvery,
  type OpenHandsTransferProgress,
} from './transfer-support';

/** Events written to Ferry's log per append (one write, one fsync). */
const APPEND_BATCH = 500;

/** Options of {@link importOpenHandsConversation}. */
export interface ImportOpenHandsOptions {
  /** The OpenHands conversation folder: `<OpenHands persistence_dir>/<id without dashes>`. */
  from: string;
  /**
   * Ferry's root folder of conversations (as given to `LocalConversation.open`): the
   * conversation is written to `<persistenceDir>/<id without dashes>/`.
   */
  persistenceDir: string;
  /** Told as events are checked and written (every 500 events and at the end). */
  onProgress?: (progress: OpenHandsTransferProgress) => void;
}

/** What {@link importOpenHandsConversation} imported. */
export interface ImportOpenHandsResult {
  /** The conversation's id (lowercase, with dashes), the same as in OpenHands. */
  conversationId: string;
  /** The Ferry conversation folder written. */
  location: string;
  /** Events in the imported log. */
  events: number;
  /** Event kinds Ferry does not know, kept as written (e.g. `HookExecutionEvent`). */
  unknownKinds: string[];
  /** Whether the folder came from a Ferry export whose Ferry-only fields were restored. */
  restoredFerryFields: boolean;
}

const metaSchema = z.looseObject({
  title: z.string().nullish(),
  tags: z.record(z.string(), z.string()).nullish(),
});

/**
 * Imports an OpenHands conversation folder (`base_state.json`, `events/event-NNNNN-<id>.json`,
 * optionally `meta.json` and the tool side files `TASKS.json`, `observations/`) as a Ferry
 * conversation with the same id, all or nothing.
 *
 * Every event file is checked (JSON, a valid event, the id its name says, indexes without
 * gaps) before anything is written. Events keep every field as OpenHands wrote them; kinds Ferry
 * does not know are kept as opaque events (listed in `unknownKinds`), as any Ferry log keeps
 * them. The state keeps its fields too, with the title and tags of `meta.json` when it has
 * none; every secret arrives as `**********` (Ferry cannot read OpenHands' Fernet tokens):
 * open the conversation with an agent that carries its keys. A folder that Ferry exported gets
 * back what the export took out for OpenHands (its `ferry-export.json`): Ferry-only fields and
 * events, and no added system prompt event.
 *
 * The conversation is written into a temporary folder of `persistenceDir` and renamed into
 * place: a failure leaves nothing behind. Open it with `LocalConversation.open` to run it.
 *
 * @throws OpenHandsConversationFormatError for a folder that is not an OpenHands conversation;
 *   OpenHandsEventFileError for a bad event file (named by path); ConversationExistsError when
 *   Ferry already has a conversation with that id.
 */
export async function importOpenHandsConversation(
  options: ImportOpenHandsOptions,
): Promise<ImportOpenHandsResult> {
  const from = resolve(options.from);
  const persisted = await readOpenHandsState(from);
  const conversationId = conversationIdOf(persisted, from);
  const meta = await readMeta(from);
  const record = await readExportRecord(from, conversationId);
  const events = applyExportRecord(await readOpenHandsEvents(from), record);

  const folder = conversationFolderName(conversationId);
  const root = resolve(options.persistenceDir);
  const location = join(root, folder);
  if (await pathExists(location)) throw new ConversationExistsError({ conversationId, location });
  const state = ferryState({ persisted, meta, record, location });

  await mkdir(root, { recursive: true });
  const stagingName = `.import-openhands-${randomUUID()}`;
  const staging = join(root, stagingName);
  try {
    const store = new LocalFileStore({ root }).scope(stagingName);
    const log = await EventLog.open({ store });
    try {
      const report = reportEvery(events.length, options.onProgress);
      for (let start = 0; start < events.length; start += APPEND_BATCH) {
        const batch = events.slice(start, start + APPEND_BATCH);
        await log.appendMany(batch);
        report(start + batch.length);
      }
    } finally {
      await log.close();
    }
    await copySideFiles(from, staging, SHARED_SIDE_FILES);
    await writeJsonAtomic(store, BASE_STATE_FILE, state);
    await renameIntoPlace(staging, location, conversationId);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  return {
    conversationId,
    location,
    events: events.length,
    unknownKinds: [...new Set(events.map((event) => event.kind))].filter(
      (kind) => !isKnownEventKind(kind),
    ),
    restoredFerryFields: record !== undefined,
  };
}

async function readOpenHandsState(from: string): Promise<ConversationState> {
  const info = await stat(from).catch(() => undefined);
  if (info === undefined || !info.isDirectory()) {
    throw new OpenHandsConversationFormatError({ path: from, reason: 'it is not a folder' });
  }
  const state = await readDocument(
    join(from, OPENHANDS_BASE_STATE_FILE),
    conversationStateSchema,
    'a conversation state',
  );
  if (state === undefined) {
    throw new OpenHandsConversationFormatError({
      path: from,
      reason: `it has no ${OPENHANDS_BASE_STATE_FILE}`,
    });
  }
  return state;
}

function conversationIdOf(state: ConversationState, from: string): string {
  try {
    return canonicalId(state.id);
  } catch (error) {
    throw new OpenHandsConversationFormatError({
      path: join(from, OPENHANDS_BASE_STATE_FILE),
      reason: `its id ${JSON.stringify(state.id)} is not a UUID`,
      cause: error,
    });
  }
}

function readMeta(from: string): Promise<z.infer<typeof metaSchema> | undefined> {
  return readDocument(join(from, OPENHANDS_META_FILE), metaSchema, 'a conversation record');
}

async function readExportRecord(
  from: string,
  conversationId: string,
): Promise<FerryExportRecord | undefined> {
  const path = join(from, FERRY_EXPORT_FILE);
  const record = await readDocument(path, ferryExportRecordSchema, 'a Ferry export record');
  if (record === undefined) return undefined;
  if (canonicalIdOrUndefined(record.conversation_id) !== conversationId) {
    throw new OpenHandsConversationFormatError({
      path,
      reason: `it belongs to conversation ${record.conversation_id}, not ${conversationId}`,
    });
  }
  return record;
}

function canonicalIdOrUndefined(id: string): string | undefined {
  try {
    return canonicalId(id);
  } catch {
    return undefined;
  }
}

/** Every event file, checked, in index order. */
async function readOpenHandsEvents(from: string): Promise<StoredEvent[]> {
  const dir = join(from, OPENHANDS_EVENTS_DIR);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return [];
    throw new OpenHandsConversationFormatError({
      path: dir,
      reason: 'its events folder cannot be read',
      cause: error,
    });
  }
  const files = new Map<number, { name: string; eventId: string }>();
  for (const name of names) {
    // Anything else there (OpenHands' `.eventlog.lock`) is not an event; OpenHands skips it too.
    const parsed = parseOpenHandsEventFileName(name);
    if (parsed === undefined) continue;
    const other = files.get(parsed.index);
    if (other !== undefined) {
      throw new OpenHandsEventFileError({
        path: join(dir, name),
        reason: `event index ${parsed.index} is also taken by ${other.name}`,
      });
    }
    files.set(parsed.index, { name, eventId: parsed.eventId });
  }
  const events: StoredEvent[] = [];
  const ids = new Set<string>();
  for (let index = 0; index < files.size; index += 1) {
    const file = files.get(index);
    if (file === undefined) {
      throw new OpenHandsConversationFormatError({
        path: dir,
        reason: `event ${index} is missing (${files.size} event files, indexes must run 0..${files.size - 1})`,
      });
    }
    const path = join(dir, file.name);
    const event = await readEventFile(path);
    if (event.id !== file.eventId) {
      throw new OpenHandsEventFileError({
        path,
        reason: `its id is ${JSON.stringify(event.id)}, but its name says ${file.eventId}`,
      });
    }
    if (ids.has(event.id)) {
      throw new OpenHandsEventFileError({ path, reason: `event id ${event.id} appears twice` });
    }
    ids.add(event.id);
    events.push(event);
  }
  return events;
}

async function readEventFile(path: string): Promise<StoredEvent> {
  const value = await readJsonFile(path, (reason, cause) => {
    throw new OpenHandsEventFileError({ path, reason, cause });
  });
  const parsed = safeParseEvent(value);
  if (!parsed.success) {
    throw new OpenHandsEventFileError({
      path,
      reason: `not a valid event (${z.prettifyError(parsed.error)})`,
      cause: parsed.error,
    });
  }
  // Kept as written: every field, OpenHands' own included, goes back out on export.
  return value as StoredEvent;
}

/** Undoes what a Ferry export changed for OpenHands, as its record says. */
function applyExportRecord(
  events: StoredEvent[],
  record: FerryExportRecord | undefined,
): StoredEvent[] {
  if (record === undefined) return events;
  const added = new Set(record.added_events);
  return events
    .filter((event) => !added.has(event.id))
    .map((event) => {
      const original = record.replaced_events[event.id];
      if (original !== undefined) return original;
      const removed = record.removed_fields[event.id];
      return removed === undefined ? event : { ...event, ...removed };
    });
}

function ferryState(options: {
  persisted: ConversationState;
  meta: z.infer<typeof metaSchema> | undefined;
  record: FerryExportRecord | undefined;
  location: string;
}): ConversationState {
  const { persisted, meta, record } = options;
  const state: ConversationState = {
    ...redactState(persisted),
    persistence_dir: options.location,
  };
  if (state.title == null && typeof meta?.title === 'string') state.title = meta.title;
  if (Object.keys(state.tags).length === 0 && meta?.tags != null) state.tags = meta.tags;
  return { ...state, ...(record?.state ?? {}) };
}

/** Reads a JSON document of the folder and checks it; `undefined` when it does not exist. */
async function readDocument<T>(
  path: string,
  schema: z.ZodType<T>,
  what: string,
): Promise<T | undefined> {
  const value = await readJsonFile(path, (reason, cause) => {
    throw new OpenHandsConversationFormatError({ path, reason, cause });
  });
  if (value === undefined) return undefined;
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    throw new OpenHandsConversationFormatError({
      path,
      reason: `not ${what} (${z.prettifyError(parsed.error)})`,
      cause: parsed.error,
    });
  }
  return parsed.data;
}

/** Reads and parses a JSON file; `undefined` when it does not exist. */
async function readJsonFile(
  path: string,
  fail: (reason: string, cause: unknown) => never,
): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ENOENT') return undefined;
    return fail(`it cannot be read (${messageOf(error)})`, error);
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    return fail(`it is not valid JSON (${messageOf(error)})`, error);
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
