import { randomUUID } from 'node:crypto';
import { FerryError } from '../errors/ferry-error';
import type { SecretCipher } from '../secrets/secret-cipher';
import { canonicalConversationId } from '../store/conversation-id';
import type { ConversationStore } from '../store/conversation-store';
import { ConversationLog } from './conversation-log';
import type {
  ConversationWorkspace,
  ForkOptions,
  LocalConversationOptions,
} from './conversation-options';
import { verifiedAgent, workspaceDescriptor, type ConversationParts } from './open-conversation';
import type { ConversationState } from './state-schema';
import { writeState } from './state-writer';

/** The conversation a fork copies from. */
export interface ForkSource {
  id: string;
  store: ConversationStore;
  log: Pick<ConversationLog, 'read'>;
  state: ConversationState;
  cipher: SecretCipher | undefined;
  workspace: ConversationWorkspace;
  options: LocalConversationOptions;
}

/**
 * Copies the source's log (up to `fromEventId` if given) into a new conversation of the same
 * store that starts `idle`, with fresh stats. The source is not changed. The fork's lease is
 * held by the returned parts; on failure it is released and nothing of the fork remains.
 */
export async function forkConversation(
  source: ForkSource,
  options: ForkOptions,
): Promise<ConversationParts> {
  let events = await source.log.read();
  if (options.fromEventId !== undefined) {
    const index = events.findIndex((event) => event.id === options.fromEventId);
    if (index < 0) {
      throw new FerryError(
        'EVENT_NOT_FOUND',
        `fork: no event ${options.fromEventId} in conversation ${source.id}; pass the id of one of its events.`,
      );
    }
    events = events.slice(0, index + 1);
  }
  const agent =
    options.agent === undefined
      ? source.state.agent
      : verifiedAgent(options.agent, source.state.agent);
  const id = canonicalConversationId(options.conversationId ?? randomUUID());
  const { store } = source;
  const exists = () =>
    new FerryError(
      'CONVERSATION_EXISTS',
      `fork: conversation ${id} already exists; choose another id.`,
    );
  if ((await store.readState(id)) !== undefined) throw exists();
  const lease = await store.acquireLease(id, {
    ...(source.options.leaseTtlMs === undefined ? {} : { ttlMs: source.options.leaseTtlMs }),
  });
  try {
    if ((await store.readState(id)) !== undefined) throw exists();
    const log = await ConversationLog.load(store, lease);
    if (events.length > 0) await log.appendMany(events);
    const workspace = options.workspace ?? source.workspace;
    const state: ConversationState = {
      ...source.state,
      id,
      agent,
      workspace: workspaceDescriptor(workspace),
      persistence_dir: store.describe(id),
      execution_status: 'idle',
      stats: { usage_to_metrics: {} },
      title: options.title ?? source.state.title ?? null,
      teleport: null,
      // Provenance and the latest user message of the copied events, as OpenHands reports them.
      forked_from_conversation_id: source.id,
      forked_from_event_id: options.fromEventId ?? null,
      last_user_message_id:
        events.findLast((event) => event.kind === 'MessageEvent' && event.source === 'user')?.id ??
        null,
    };
    await writeState(store, lease, state, source.cipher);
    return {
      id,
      store,
      lease,
      log,
      state,
      cipher: source.cipher,
      workspace,
      options: { ...source.options, conversationId: id, agent, onEvent: undefined },
      report: { mode: 'created', agentChanges: [], recoveredFromCrash: false },
    };
  } catch (error) {
    await store.releaseLease(lease);
    throw error;
  }
}
