import { randomUUID } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { agentSchema } from '../agent/agent-schema';
import { renderSystemPrompt } from '../agent/system-prompt';
import { canonicalId } from '../bundle/conversation-id';
import { conversationFolderName } from '../store/conversation-id';
import type { ConversationState } from '../conversation/state-schema';
import { ConversationExistsError } from '../errors/conversation-exists-error';
import { ConversationTeleportedError } from '../errors/conversation-teleported-error';
import { LocalFileStore } from '../persistence/local-file-store';
import { formatJson } from '../persistence/json-file';
import type { StoredEvent } from '../persistence/stored-event';
import { redactState } from '../secrets/secret-codec';
import {
  FERRY_EXPORT_FILE,
  OPENHANDS_BASE_STATE_FILE,
  OPENHANDS_EVENTS_DIR,
  OPENHANDS_META_FILE,
  SHARED_SIDE_FILES,
  openHandsEventFileName,
  type FerryExportRecord,
} from './openhands-layout';
import {
  OPENHANDS_TAG_KEY,
  OPENHANDS_TAG_VALUE_MAX_LENGTH,
  openHandsStateFields,
} from './openhands-fields';
import {
  copySideFiles,
  pathExists,
  renameIntoPlace,
  reportEvery,
  type OpenHandsTransferProgress,
} from './transfer-support';
import { readFerryConversation } from './read-ferry-conversation';
import { toOpenHandsEvent } from './to-openhands-event';

/** OpenHands' agent looks for its system prompt event among the first this many events. */
const SYSTEM_PROMPT_WINDOW = 3;

/** Options of {@link exportOpenHandsConversation}. */
export interface ExportOpenHandsOptions {
  /** Ferry's root folder of conversations (as given to `LocalConversation.open`). */
  persistenceDir: string;
  /** The conversation to export. */
  conversationId: string;
  /**
   * OpenHands' persistence folder: the conversation is written to `<to>/<id without dashes>/`,
   * where OpenHands' `Conversation(..., persistence_dir=to, conversation_id=id)` finds it.
   */
  to: string;
  /** Told as event files are written (every 500 events and at the end). */
  onProgress?: (progress: OpenHandsTransferProgress) => void;
}

/** What {@link exportOpenHandsConversation} wrote. */
export interface ExportOpenHandsResult {
  /** The conversation's id (lowercase, with dashes). */
  conversationId: string;
  /** The OpenHands conversation folder written. */
  location: string;
  /** Event files written, an added system prompt event included. */
  events: number;
  /** Events that lost Ferry-only fields (kept in `ferry-export.json`). */
  eventsWithFieldsRemoved: number;
  /** Ferry-only events written as state updates (`TeleportEvent`). */
  eventsReplaced: number;
  /** Whether a `SystemPromptEvent` was added (Ferry logs have none; OpenHands needs one). */
  systemPromptAdded: boolean;
}

/**
 * Exports a Ferry conversation into OpenHands' layout, which the OpenHands Python SDK opens:
 * `base_state.json`, `events/event-NNNNN-<id>.json` (one event a file), `meta.json` (what
 * OpenHands' agent server keeps: title, tags, times), the tool side files (`TASKS.json`,
 * `observations/`) and `ferry-export.json`.
 *
 * Every event is made valid under OpenHands' models (see {@link toOpenHandsEvent}); what that
 * removed goes into `ferry-export.json`, which OpenHands ignores and
 * `importOpenHandsConversation` reads to restore the events exactly. Ferry writes no
 * `SystemPromptEvent` (it renders the prompt at every call), but OpenHands takes the system
 * prompt from one at the start of the log and refuses a log that starts with a user message
 * without one: the export adds one with the agent's prompt as Ferry renders it and no tool
 * definitions (OpenHands sends the agent's current tools). The state's Ferry-only fields
 * (`title` goes to `meta.json`; `teleport` and tags OpenHands refuses go to
 * `ferry-export.json`) are left out, and every secret is written as `**********`: open the
 * conversation in OpenHands with an agent that carries its keys. No Fernet key is needed.
 *
 * The folder is written under a temporary name beside the destination and renamed into place,
 * so a failure leaves nothing behind. The Ferry conversation is only read (never locked or
 * changed); pause a running one first to export a step boundary.
 *
 * @throws ConversationExistsError when the destination folder exists;
 *   ConversationTeleportedError when the conversation was teleported away (export it where it
 *   lives now); FerryError
 *   `CONVERSATION_NOT_FOUND` when there is no such Ferry conversation; `CorruptEventLogError`.
 */
export async function exportOpenHandsConversation(
  options: ExportOpenHandsOptions,
): Promise<ExportOpenHandsResult> {
  const conversationId = canonicalId(options.conversationId);
  const folder = conversationFolderName(conversationId);
  const source = new LocalFileStore({ root: options.persistenceDir }).scope(folder);
  const { state, events } = await readFerryConversation(source);
  // A parked copy must not come alive in OpenHands while the conversation runs elsewhere.
  if (state.teleport != null) {
    throw new ConversationTeleportedError(conversationId, state.teleport.to, state.teleport.at);
  }

  const root = resolve(options.to);
  const location = join(root, folder);
  if (await pathExists(location)) throw new ConversationExistsError({ conversationId, location });

  const record: FerryExportRecord = {
    format: 'ferry-openhands-export',
    version: 1,
    conversation_id: conversationId,
    state: {},
    added_events: [],
    removed_fields: {},
    replaced_events: {},
  };
  const exported: StoredEvent[] = [];
  for (const event of events) {
    const conversion = toOpenHandsEvent(event);
    if (conversion.removed !== undefined) record.removed_fields[event.id] = conversion.removed;
    if (conversion.replaced !== undefined) record.replaced_events[event.id] = conversion.replaced;
    exported.push(conversion.event);
  }
  const systemPrompt = needsSystemPrompt(exported) ? systemPromptEvent(state, exported) : undefined;
  if (systemPrompt !== undefined) {
    record.added_events.push(systemPrompt.id);
    exported.unshift(systemPrompt);
  }
  const { baseState, ferryOnly } = openHandsState(state, location);
  record.state = ferryOnly;

  await mkdir(root, { recursive: true });
  const staging = join(root, `.ferry-export-${randomUUID()}`);
  try {
    await mkdir(join(staging, OPENHANDS_EVENTS_DIR), { recursive: true });
    await writeFile(join(staging, OPENHANDS_BASE_STATE_FILE), formatJson(baseState));
    await writeFile(
      join(staging, OPENHANDS_META_FILE),
      formatJson(metaDocument(state, conversationId, exported)),
    );
    const report = reportEvery(exported.length, options.onProgress);
    for (const [index, event] of exported.entries()) {
      const name = openHandsEventFileName(index, event.id);
      await writeFile(join(staging, OPENHANDS_EVENTS_DIR, name), JSON.stringify(event));
      report(index + 1);
    }
    await copySideFiles(join(resolve(options.persistenceDir), folder), staging, SHARED_SIDE_FILES);
    await writeFile(join(staging, FERRY_EXPORT_FILE), formatJson(record));
    await renameIntoPlace(staging, location, conversationId);
  } catch (error) {
    await rm(staging, { recursive: true, force: true });
    throw error;
  }
  return {
    conversationId,
    location,
    events: exported.length,
    eventsWithFieldsRemoved: Object.keys(record.removed_fields).length,
    eventsReplaced: Object.keys(record.replaced_events).length,
    systemPromptAdded: systemPrompt !== undefined,
  };
}

function needsSystemPrompt(events: readonly StoredEvent[]): boolean {
  return !events.slice(0, SYSTEM_PROMPT_WINDOW).some((event) => event.kind === 'SystemPromptEvent');
}

function systemPromptEvent(state: ConversationState, events: readonly StoredEvent[]): StoredEvent {
  return {
    id: randomUUID(),
    // The log's first moment, so a timeline sorted by time keeps it first.
    timestamp: events[0]?.timestamp ?? new Date().toISOString(),
    source: 'agent',
    kind: 'SystemPromptEvent',
    system_prompt: { type: 'text', text: renderSystemPrompt(agentSchema.parse(state.agent)) },
    tools: [],
  };
}

/** The state as OpenHands reads it, and the Ferry-only parts left out of it. */
function openHandsState(
  state: ConversationState,
  location: string,
): { baseState: Record<string, unknown>; ferryOnly: Record<string, unknown> } {
  const redacted: Record<string, unknown> = { ...redactState(state), persistence_dir: location };
  const allowed = new Set(openHandsStateFields);
  const baseState: Record<string, unknown> = {};
  const ferryOnly: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(redacted)) {
    // The title lives in meta.json on OpenHands' side; other unknown fields are Ferry's own.
    if (allowed.has(key)) baseState[key] = value;
    else if (key !== 'title' && value !== undefined) ferryOnly[key] = value;
  }
  const tags = state.tags;
  if (!Object.entries(tags).every(([key, value]) => isOpenHandsTag(key, value))) {
    baseState.tags = Object.fromEntries(
      Object.entries(tags).filter(([key, value]) => isOpenHandsTag(key, value)),
    );
    ferryOnly.tags = tags;
  }
  return { baseState, ferryOnly };
}

function isOpenHandsTag(key: string, value: string): boolean {
  return OPENHANDS_TAG_KEY.test(key) && value.length <= OPENHANDS_TAG_VALUE_MAX_LENGTH;
}

/** OpenHands' agent-server record of the conversation (`StoredConversation`). */
function metaDocument(
  state: ConversationState,
  conversationId: string,
  events: readonly StoredEvent[],
): Record<string, unknown> {
  const now = new Date().toISOString();
  return {
    id: conversationId,
    title: state.title ?? null,
    tags: Object.fromEntries(
      Object.entries(state.tags).filter(([key, value]) => isOpenHandsTag(key, value)),
    ),
    workspace: { kind: 'LocalWorkspace', working_dir: state.workspace.working_dir },
    confirmation_policy: state.confirmation_policy,
    max_iterations: state.max_iterations,
    stuck_detection: state.stuck_detection,
    secrets: {},
    created_at: events[0]?.timestamp ?? now,
    updated_at: events.at(-1)?.timestamp ?? now,
  };
}
