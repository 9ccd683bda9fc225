import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { agentSchema, type Agent, type AgentInput } from '../agent/agent-schema';
import { assertRunnableAgent } from '../agent/runnable-agent';
import { planResume, type ResumeChange } from '../agent/verify-agent';
import { AgentKindMismatchError } from '../errors/agent-kind-mismatch-error';
import { AgentRequiredError } from '../errors/agent-required-error';
import { ConversationIdMismatchError } from '../errors/conversation-id-mismatch-error';
import { FerryError } from '../errors/ferry-error';
import { InvalidOptionError } from '../errors/invalid-option-error';
import { ToolsRemovedError } from '../errors/tools-removed-error';
import type { Event } from '../event/event-schemas';
import { resolveSecretCipher, type SecretCipher } from '../secrets/secret-cipher';
import { redactAgent, unsealState } from '../secrets/secret-codec';
import { canonicalConversationId } from '../store/conversation-id';
import type { ConversationLease, ConversationStore } from '../store/conversation-store';
import { FileConversationStore } from '../store/file-conversation-store';
import { isConversationStore } from '../store/is-conversation-store';
import { toolRegistryFor } from '../tool/builtin-tools';
import type { WorkspaceDescriptor } from '../workspace/workspace-descriptor';
import { ConversationLog, type EventIndex } from './conversation-log';
import type {
  ConversationWorkspace,
  LocalConversationOptions,
  OpenReport,
} from './conversation-options';
import { answersForUnansweredActions, runEndedBeforeCrash } from './recover-interrupted-run';
import { conversationStateSchema, type ConversationState } from './state-schema';
import { stateUpdateEvent, writeState } from './state-writer';
import { arrivalEvent } from './teleport-bookkeeping';
import { conversationStatsSchema } from './stats';

/** What a `LocalConversation` is made of, once its log is loaded and its state written. */
export interface ConversationParts {
  id: string;
  store: ConversationStore;
  lease: ConversationLease;
  log: ConversationLog;
  state: ConversationState;
  cipher: SecretCipher | undefined;
  workspace: ConversationWorkspace;
  options: LocalConversationOptions;
  report: OpenReport;
  /** The `TeleportEvent` the open appended for `options.arrival`, to announce. */
  arrived?: Event;
}

/** What creating or resuming needs: the conversation's lease is held. */
export interface OpenInput {
  id: string;
  store: ConversationStore;
  lease: ConversationLease;
  cipher: SecretCipher | undefined;
  options: LocalConversationOptions;
}

/** The store that `store`/`persistenceDir` name. */
export function resolveConversationStore(
  options: Pick<LocalConversationOptions, 'store' | 'persistenceDir' | 'fsync'>,
): ConversationStore {
  const fsync = options.fsync ?? true;
  if (options.store !== undefined) {
    return isConversationStore(options.store)
      ? options.store
      : new FileConversationStore({ files: options.store, fsync });
  }
  if (options.persistenceDir === undefined) {
    throw new FerryError(
      'PERSISTENCE_DIR_REQUIRED',
      'LocalConversation.open needs `persistenceDir` (a folder) or `store` (e.g. new InMemoryConversationStore()).',
    );
  }
  return new FileConversationStore({ root: options.persistenceDir, fsync });
}

const runtimeOptionSchemas = {
  maxIterations: conversationStateSchema.shape.max_iterations,
  stuckDetection: conversationStateSchema.shape.stuck_detection,
};

/**
 * Checks the options that become state fields, exactly as the state schema does, before
 * anything is written (by a create or a resume alike).
 * @throws InvalidOptionError naming the option.
 */
export function validateStateOptions(
  options: Pick<LocalConversationOptions, 'maxIterations' | 'stuckDetection'>,
): void {
  for (const [name, schema] of Object.entries(runtimeOptionSchemas)) {
    const value: unknown = options[name as keyof typeof runtimeOptionSchemas];
    if (value === undefined) continue;
    const result = schema.safeParse(value);
    if (!result.success) {
      throw new InvalidOptionError(
        name,
        `${describeValue(value)} is not accepted (${z.prettifyError(result.error).replace(/\s+/g, ' ').trim()})`,
        { cause: result.error },
      );
    }
  }
}

/** The persisted workspace descriptor of a runtime workspace. */
export function workspaceDescriptor(workspace: ConversationWorkspace): WorkspaceDescriptor {
  return { kind: workspace.kind, working_dir: workspace.workingDir };
}

/** The runtime agent after verification against the persisted one (same kind, no tool removed). */
export function verifiedAgent(runtime: AgentInput, persisted: Agent): Agent {
  const plan = planResume(runtime, persisted);
  for (const problem of plan.problems) {
    if (problem.code === 'AGENT_KIND_MISMATCH') {
      throw new AgentKindMismatchError(problem.persisted, problem.runtime);
    }
    throw new ToolsRemovedError(problem.removed);
  }
  assertRunnableAgent(plan.agent);
  return plan.agent;
}

/**
 * Creates or resumes the conversation `options` name (see `LocalConversation.open`), holding its
 * lease; on failure the lease is released and nothing is left behind.
 */
export async function openConversation(
  options: LocalConversationOptions,
): Promise<ConversationParts> {
  const id = canonicalConversationId(options.conversationId ?? randomUUID());
  const store = resolveConversationStore(options);
  const warn = options.onWarning ?? ((message: string) => console.warn(`[ferry] ${message}`));
  // Before anything is written: options a create would refuse are refused by a resume too,
  // and a conversation that could not run as asked is not created. (A resume checks the
  // kinds after verifying the agent, so a changed kind is reported as such.)
  validateStateOptions(options);
  const cipher = resolveSecretCipher(options.secretKey);
  if (options.agent !== undefined && (await store.readState(id)) === undefined) {
    assertRunnableAgent(agentSchema.parse(options.agent));
  }
  const lease = await store.acquireLease(id, {
    onWarning: warn,
    ...(options.leaseTtlMs === undefined ? {} : { ttlMs: options.leaseTtlMs }),
  });
  try {
    const input = { id, store, lease, cipher, options };
    const persisted = await store.readState(id);
    const parts =
      persisted === undefined
        ? await createConversation(input)
        : await resumeConversation({ ...input, persisted, warn });
    return parts;
  } catch (error) {
    // A lease that wrote nothing leaves nothing behind (no empty folder).
    await store.releaseLease(lease);
    throw error;
  }
}

/** Creates a new conversation: its state is written (the log starts empty). */
export async function createConversation(input: OpenInput): Promise<ConversationParts> {
  const { id, store, lease, cipher, options } = input;
  if (options.arrival !== undefined) {
    throw new InvalidOptionError(
      'arrival',
      `there is no conversation ${id} in ${store.describe(id)} to arrive (import its bundle first)`,
    );
  }
  if (options.agent === undefined) throw new AgentRequiredError(store.describe(id));
  const state = conversationStateSchema.parse({
    id,
    agent: agentSchema.parse(options.agent),
    workspace: workspaceDescriptor(options.workspace),
    persistence_dir: store.describe(id),
    ...(options.maxIterations === undefined ? {} : { max_iterations: options.maxIterations }),
    ...(options.stuckDetection === undefined ? {} : { stuck_detection: options.stuckDetection }),
    ...(options.title === undefined ? {} : { title: options.title }),
  });
  const log = await ConversationLog.load(store, lease);
  await writeState(store, lease, state, cipher);
  return parts(input, log, state, { mode: 'created', agentChanges: [], recoveredFromCrash: false });
}

/**
 * Resumes a persisted conversation (see `LocalConversation.open`): everything is checked before
 * the first write, so a failed resume changes nothing.
 */
export async function resumeConversation(
  input: OpenInput & { persisted: unknown; warn: (message: string) => void },
): Promise<ConversationParts> {
  const { id, store, lease, cipher, options, warn } = input;
  const parsed = conversationStateSchema.safeParse(input.persisted);
  if (!parsed.success) {
    throw new FerryError(
      'INVALID_STATE_DOCUMENT',
      `The state of conversation ${id} in ${store.describe(id)} is not a valid conversation state: ${parsed.error.message}`,
      { cause: parsed.error },
    );
  }
  if (canonicalConversationId(parsed.data.id) !== id) {
    throw new ConversationIdMismatchError(parsed.data.id, id, store.describe(id));
  }
  const persisted = unsealState(parsed.data, cipher, warn);

  let agent = persisted.agent;
  let agentChanges: ResumeChange[] = [];
  if (options.agent !== undefined) {
    agent = verifiedAgent(options.agent, persisted.agent);
    agentChanges = planResume(agent, persisted.agent).changes;
  }

  // Verification passed: from here on the conversation is ours to change.
  const log = await ConversationLog.load(store, lease);
  const crashed = persisted.execution_status === 'running';
  // Found `running`: the run ended (its status was not written yet) or it was cut short.
  let recoveredStatus: 'finished' | 'error' = 'error';
  if (crashed) {
    const tools = toolRegistryFor(options.tools);
    const ended = runEndedBeforeCrash(log.live, (name) => tools.get(name)?.endsRun === true);
    if (ended) recoveredStatus = 'finished';
  }
  const state: ConversationState = {
    ...persisted,
    id,
    agent,
    workspace: workspaceDescriptor(options.workspace),
    persistence_dir: store.describe(id),
    max_iterations: options.maxIterations ?? persisted.max_iterations,
    stuck_detection: options.stuckDetection ?? persisted.stuck_detection,
    execution_status: crashed ? recoveredStatus : persisted.execution_status,
    // Arrived by teleport: no longer parked (see `recordArrival`).
    ...(options.arrival === undefined ? {} : { teleport: null }),
  };

  const recovery: Event[] = [];
  if (crashed) {
    // Each step logs the stats it reached; they are newer than the state written at run start.
    // Steps log stats often, so the live context nearly always holds the last one.
    const lastStats = lastStateUpdate(log.live, 'stats') ?? lastStateUpdate(log, 'stats');
    if (lastStats !== undefined) {
      const stats = conversationStatsSchema.safeParse(lastStats);
      if (stats.success) state.stats = stats.data;
    }
    // Every action the LLM can still see is in the live context (see ContextSnapshot).
    recovery.push(...answersForUnansweredActions(log.live));
    recovery.push(stateUpdateEvent('execution_status', recoveredStatus));
  }
  // A secret that was redacted on disk is unknown, so supplying it again is not a change.
  if (agentChanges.some((change) => !(change.secret && change.old === undefined))) {
    const event = stateUpdateEvent('agent', redactAgent(agent));
    recovery.push({ ...event, changes: agentChanges });
  }
  const arrived = options.arrival === undefined ? undefined : arrivalEvent(options.arrival);
  if (arrived !== undefined) recovery.push(arrived);
  if (recovery.length > 0) await log.appendMany(recovery);
  await writeState(store, lease, state, cipher);
  const resumed = parts(input, log, state, {
    mode: 'resumed',
    agentChanges,
    recoveredFromCrash: crashed,
    liveContext: { source: log.liveSource, loadedFrom: log.loadedFrom },
  });
  return arrived === undefined ? resumed : { ...resumed, arrived };
}

function parts(
  input: OpenInput,
  log: ConversationLog,
  state: ConversationState,
  report: OpenReport,
): ConversationParts {
  const { id, store, lease, cipher, options } = input;
  return { id, store, lease, log, state, cipher, workspace: options.workspace, options, report };
}

function lastStateUpdate(log: EventIndex, key: string): unknown {
  for (let index = log.length - 1; index >= 0; index -= 1) {
    const event = log.at(index);
    if (event?.kind === 'ConversationStateUpdateEvent' && event.key === key) return event.value;
  }
  return undefined;
}

function describeValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  return String(value);
}
