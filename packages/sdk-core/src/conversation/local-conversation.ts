import { randomUUID } from 'node:crypto';
import { agentSchema, type Agent, type AgentInput } from '../agent/agent-schema';
import { planResume, type ResumeChange } from '../agent/verify-agent';
import { AgentKindMismatchError } from '../errors/agent-kind-mismatch-error';
import { AgentRequiredError } from '../errors/agent-required-error';
import { ConversationClosedError } from '../errors/conversation-closed-error';
import { ConversationIdMismatchError } from '../errors/conversation-id-mismatch-error';
import {
  ConversationChangedSinceExportError,
  type ExportedExtent,
} from '../errors/conversation-changed-since-export-error';
import { ConversationTeleportedError } from '../errors/conversation-teleported-error';
import { FerryError } from '../errors/ferry-error';
import { ToolsRemovedError } from '../errors/tools-removed-error';
import type { MessageContent } from '../event/content';
import { newEventEnvelope } from '../event/event-base';
import type { ConversationStateUpdateEvent, Event, MessageEvent } from '../event/event-schemas';
import type { AnyEvent } from '../event/parse-event';
import { EventLog } from '../persistence/event-log';
import type { FileStore } from '../persistence/file-store';
import { readJson, writeJsonAtomic } from '../persistence/json-file';
import { LocalFileStore } from '../persistence/local-file-store';
import { ConversationLock } from '../persistence/conversation-lock';
import { resolveSecretCipher, type SecretCipher } from '../secrets/secret-cipher';
import { redactAgent, redactState, sealState, unsealState } from '../secrets/secret-codec';
import { collectSecretValues } from '../secrets/secret-codec';
import { createDefaultToolRegistry } from '../tool/builtin-tools';
import type { ToolDefinition } from '../tool/tool-definition';
import { ToolRegistry } from '../tool/tool-registry';
import { confirmationPolicySchema, type ConfirmationPolicyInput } from './confirmation-policy';
import { EventStream } from './event-stream';
import {
  FAILED_RUN_ACTION_ERROR,
  answersForInterruptedActions,
  answersForUnansweredActions,
} from './recover-interrupted-run';
import {
  INTERRUPTED_ACTION_ERROR,
  effectiveCondenser,
  failRun,
  maybeCondense,
  pendingActions,
  runLoop,
  type RunHost,
} from './run-loop';
import { DEFAULT_STUCK_THRESHOLDS, type StuckThresholds } from './stuck-detector';
import { ConversationRunningError } from '../errors/conversation-running-error';
import { McpToolProvider } from '../mcp/mcp-tool-provider';
import { LLMContextBuilder } from '../agent/build-messages';
import { assertRunnableAgent } from '../agent/runnable-agent';
import { callLLM, providerIdentity, type LanguageModelFactory } from '../llm/call-llm';
import type { ResumePlan } from '../agent/verify-agent';
import type { SecretSource } from './state-schema';
import { createEventList, type EventList } from './event-list';
import type { WorkspaceDescriptor } from '../workspace/workspace-descriptor';
import {
  conversationStateSchema,
  type ConversationState,
  type ExecutionStatus,
} from './state-schema';
import { addUsage, conversationStatsSchema, type UsageRecord } from './stats';
import {
  canonicalConversationId as canonicalId,
  conversationFolderName,
} from '../store/conversation-id';

/** The file that holds the state document. */
export const BASE_STATE_FILE = 'base_state.json';

/** What a conversation needs of its workspace to persist where it runs. */
export interface ConversationWorkspace {
  /** `LocalWorkspace`, `RemoteWorkspace`, ... */
  readonly kind: string;
  /** Absolute working directory. */
  readonly workingDir: string;
}

/** Listener of new events; called after the event is durably in the log. */
export type EventListener = (event: AnyEvent) => void;

/** Options of {@link LocalConversation.open}. */
export interface LocalConversationOptions {
  /** The agent. Required for a new conversation; on resume it replaces the persisted one after verification. */
  agent?: AgentInput;
  /** Where the agent works. Always the runtime one, never restored. */
  workspace: ConversationWorkspace;
  /** Root folder of conversations; this one lives in `<persistenceDir>/<id without dashes>`. */
  persistenceDir?: string;
  /** A store for the root instead of a folder (e.g. `InMemoryFileStore`); wins over `persistenceDir`. */
  store?: FileStore;
  /** The conversation's id (a UUID); a new one when absent. */
  conversationId?: string;
  /** Most agent steps per `run()`; persisted, and the persisted value is kept when absent. */
  maxIterations?: number;
  /** Turn stuck detection on or off; persisted, and the persisted value is kept when absent. */
  stuckDetection?: boolean;
  /** Key that encrypts persisted secrets; defaults to `FERRY_SECRET_KEY`. Without one, secrets are redacted on disk. */
  secretKey?: string;
  /** Called with every new event, after it is durably in the log. */
  onEvent?: EventListener;
  /** Called with recoverable problems (torn last line, secrets that could not be decrypted). Default: `console.warn`. */
  onWarning?: (message: string) => void;
  /** fsync every append and state write (default true). Turn off only for throwaway conversations. */
  fsync?: boolean;
  /** Title of a new conversation. */
  title?: string;
  /**
   * Tools the agent may reference by name, besides the built-in `finish`, `think` and
   * `task_tracker` (a registry replaces the built-ins).
   */
  tools?: readonly ToolDefinition[] | ToolRegistry;
  /** Called with streamed LLM text as it arrives (never persisted). */
  onTextDelta?: (delta: string) => void;
  /** Thresholds of the stuck detector (when `stuckDetection` is on). */
  stuckThresholds?: Partial<StuckThresholds>;
  /**
   * Makes the AI SDK model for an LLM document (the agent's and the condenser's) instead of
   * Ferry's routing: any `@ai-sdk/*` provider, or an in-process model. Not persisted: pass it
   * again on every open. Return `undefined` for documents Ferry should route itself.
   */
  languageModel?: LanguageModelFactory;
}

/** How {@link LocalConversation.open} treated the persisted conversation. */
export interface OpenReport {
  /** `created` for a new conversation, `resumed` otherwise. */
  mode: 'created' | 'resumed';
  /** Agent fields that changed on resume (secrets redacted). */
  agentChanges: ResumeChange[];
  /** True when the conversation was found `running` and was recovered to `error`. */
  recoveredFromCrash: boolean;
}

/** Options of {@link LocalConversation.fork}. */
export interface ForkOptions {
  /** The fork's id; a new UUID when absent. */
  conversationId?: string;
  /** An agent for the fork (verified against this conversation's like a resume); this one's when absent. */
  agent?: AgentInput;
  /** Copy the log up to and including this event; the whole log when absent. */
  fromEventId?: string;
  /** Title of the fork. */
  title?: string;
  /** Workspace of the fork; this conversation's when absent. */
  workspace?: ConversationWorkspace;
}

function workspaceDescriptor(workspace: ConversationWorkspace): WorkspaceDescriptor {
  return { kind: workspace.kind, working_dir: workspace.workingDir };
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}

interface Parts {
  id: string;
  store: FileStore;
  log: EventLog;
  lock: ConversationLock;
  state: ConversationState;
  cipher: SecretCipher | undefined;
  workspace: ConversationWorkspace;
  options: LocalConversationOptions;
  report: OpenReport;
}

/**
 * A conversation persisted on a {@link FileStore}: an append-only event log plus the state
 * document. Open it with {@link LocalConversation.open}, which creates or resumes; a resume may
 * bring a changed agent (see {@link planResume}).
 */
export class LocalConversation {
  /** The conversation's id (a UUID with dashes). */
  readonly id: string;
  /** What `open()` did: created or resumed, agent changes, crash recovery. */
  readonly openReport: OpenReport;
  /** The workspace the conversation runs in now. */
  readonly workspace: ConversationWorkspace;
  /** The conversation's events, in order. */
  readonly events: EventList;

  readonly #store: FileStore;
  readonly #log: EventLog;
  readonly #lock: ConversationLock;
  readonly #cipher: SecretCipher | undefined;
  readonly #options: LocalConversationOptions;
  readonly #listeners = new Set<EventListener>();
  readonly #tools: ToolRegistry;
  readonly #stream = new EventStream();
  readonly #contextBuilder = new LLMContextBuilder();
  #state: ConversationState;
  #stateSnapshot: ConversationState | undefined;
  #secretValues: string[] | undefined;
  #closed = false;
  #running: Promise<ExecutionStatus> | undefined;
  #pauseRequested = false;
  #mcp: { key: string; provider: McpToolProvider } | undefined;
  #abort: AbortController | undefined;

  private constructor(parts: Parts) {
    this.id = parts.id;
    this.#store = parts.store;
    this.#log = parts.log;
    this.#lock = parts.lock;
    this.#state = parts.state;
    this.#cipher = parts.cipher;
    this.#options = parts.options;
    this.workspace = parts.workspace;
    this.openReport = parts.report;
    this.events = createEventList(parts.log);
    this.#tools =
      parts.options.tools instanceof ToolRegistry
        ? parts.options.tools
        : createDefaultToolRegistry().with(parts.options.tools ?? []);
    if (parts.options.onEvent !== undefined) this.#listeners.add(parts.options.onEvent);
  }

  /**
   * Creates the conversation when its folder holds no state, and resumes it otherwise.
   *
   * On resume: the id must match; the runtime agent (if given) replaces the persisted one after
   * verification (same kind, no tool removed) and the change is recorded as a
   * `ConversationStateUpdateEvent` with key `agent`; the workspace is the runtime one;
   * `maxIterations`/`stuckDetection` override only when given; a conversation persisted as
   * `running` becomes `error` with an `AgentErrorEvent` for each unanswered action; stats,
   * confirmation policy, tags and title are kept. A failed resume changes nothing on disk.
   *
   * @throws ConversationLockedError when another live process has it open.
   * @throws ConversationIdMismatchError, AgentKindMismatchError, ToolsRemovedError,
   *   CorruptEventLogError, AgentRequiredError.
   */
  static async open(options: LocalConversationOptions): Promise<LocalConversation> {
    const id = canonicalId(options.conversationId ?? randomUUID());
    const root = options.store ?? rootStore(options.persistenceDir);
    const store = root.scope(conversationFolderName(id));
    const warn = options.onWarning ?? ((message: string) => console.warn(`[ferry] ${message}`));
    // Before anything is written: a conversation that could not run as asked is not created. (A
    // resume checks the kinds after verifying the agent, so a changed kind is reported as such.)
    if (options.agent !== undefined && !(await store.exists(BASE_STATE_FILE))) {
      assertRunnableAgent(agentSchema.parse(options.agent));
    }
    const lock = await ConversationLock.acquire({ store, onWarning: warn });
    try {
      const cipher = resolveSecretCipher(options.secretKey);
      const persisted = await readJson(store, BASE_STATE_FILE);
      const parts =
        persisted === undefined
          ? await create({ id, store, lock, cipher, options })
          : await resume({ id, store, lock, cipher, options, persisted, warn });
      return new LocalConversation(parts);
    } catch (error) {
      await lock.release();
      throw error;
    }
  }

  /**
   * The state document, read-only, with secrets redacted (as it is persisted without a key).
   * Use {@link LocalConversation.agent} for the live agent.
   */
  get state(): ConversationState {
    this.#stateSnapshot ??= deepFreeze(redactState(this.#state));
    return this.#stateSnapshot;
  }

  /** The agent the conversation runs with now, secrets included. Treat as read-only. */
  get agent(): Agent {
    return this.#state.agent;
  }

  /** Where the conversation is persisted (an absolute folder, or a `memory:/` location). */
  get persistenceDir(): string {
    return this.#store.describe('');
  }

  /** True after {@link LocalConversation.close}. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Subscribes to new events; returns the function that unsubscribes. */
  onEvent(listener: EventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Appends a user message. It is picked up by the next step of `run()`. */
  async sendMessage(
    message: string | { content: MessageContent[]; sender?: string },
  ): Promise<MessageEvent> {
    this.#assertWritable();
    const content: MessageContent[] =
      typeof message === 'string' ? [{ type: 'text', text: message }] : message.content;
    const event: MessageEvent = {
      ...newEventEnvelope(),
      source: 'user',
      kind: 'MessageEvent',
      llm_message: { role: 'user', content },
      activated_skills: [],
      extended_content: [],
      ...(typeof message === 'string' || message.sender === undefined
        ? {}
        : { sender: message.sender }),
    };
    await this.appendEvents([event]);
    return event;
  }

  /** Changes when the conversation asks before executing actions; persisted. */
  async setConfirmationPolicy(policy: ConfirmationPolicyInput): Promise<void> {
    this.#assertWritable();
    const parsed = confirmationPolicySchema.parse(policy);
    await this.updateState({ confirmation_policy: parsed }, { record: 'confirmation_policy' });
  }

  /** Sets the title and/or tags; persisted. */
  async updateMetadata(update: {
    title?: string | null;
    tags?: Record<string, string>;
  }): Promise<void> {
    this.#assertOpen();
    await this.updateState({
      ...(update.title === undefined ? {} : { title: update.title }),
      ...(update.tags === undefined ? {} : { tags: update.tags }),
    });
  }

  /**
   * Adds one LLM call's usage to `stats` (per `usage_id`) and persists it. The run loop does this
   * for its own calls; use it for LLM calls you make on the conversation's behalf.
   */
  async recordUsage(usage: UsageRecord): Promise<void> {
    this.#assertOpen();
    await this.updateState({ stats: addUsage(this.#state.stats, usage) });
  }

  /**
   * Copies the log (up to `fromEventId` if given) into a new conversation that starts `idle`.
   * This conversation is not changed. Returns the fork, open (close it when done).
   */
  async fork(options: ForkOptions = {}): Promise<LocalConversation> {
    this.#assertOpen();
    let events = this.#log.slice();
    if (options.fromEventId !== undefined) {
      const index = this.#log.indexOf(options.fromEventId);
      if (index < 0) {
        throw new FerryError(
          'EVENT_NOT_FOUND',
          `fork: no event ${options.fromEventId} in conversation ${this.id}; pass the id of one of its events.`,
        );
      }
      events = events.slice(0, index + 1);
    }
    const agent =
      options.agent === undefined
        ? this.#state.agent
        : verifiedAgent(options.agent, this.#state.agent);
    const id = canonicalId(options.conversationId ?? randomUUID());
    const root = this.#options.store ?? rootStore(this.#options.persistenceDir);
    const store = root.scope(conversationFolderName(id));
    if (await store.exists(BASE_STATE_FILE)) {
      throw new FerryError(
        'CONVERSATION_EXISTS',
        `fork: conversation ${id} already exists; choose another id.`,
      );
    }
    const lock = await ConversationLock.acquire({ store });
    try {
      const log = await EventLog.open({ store, fsync: this.#options.fsync ?? true });
      if (events.length > 0) await log.appendMany(events);
      const workspace = options.workspace ?? this.workspace;
      const state: ConversationState = {
        ...this.#state,
        id,
        agent,
        workspace: workspaceDescriptor(workspace),
        persistence_dir: store.describe(''),
        execution_status: 'idle',
        stats: { usage_to_metrics: {} },
        title: options.title ?? this.#state.title ?? null,
        teleport: null,
      };
      await writeState(store, state, this.#cipher);
      return new LocalConversation({
        id,
        store,
        log,
        lock,
        state,
        cipher: this.#cipher,
        workspace,
        options: { ...this.#options, conversationId: id, agent, onEvent: undefined },
        report: { mode: 'created', agentChanges: [], recoveredFromCrash: false },
      });
    } catch (error) {
      await lock.release();
      throw error;
    }
  }

  /**
   * Answers the actions held by the confirmation policy. Accept executes them and continues the
   * run (resolving like `run()`); reject records a `UserRejectObservation` per action, which the
   * LLM sees at the next run, and leaves the conversation `idle`.
   */
  async respondToConfirmation(response: {
    accept: boolean;
    reason?: string;
  }): Promise<ExecutionStatus> {
    this.#assertWritable();
    if (this.#state.execution_status !== 'waiting_for_confirmation') {
      throw new FerryError(
        'NOT_WAITING_FOR_CONFIRMATION',
        `Conversation ${this.id} is ${this.#state.execution_status}, not waiting for confirmation; there is nothing to accept or reject.`,
      );
    }
    if (response.accept) return this.run();
    const rejections = pendingActions(this.events, this.#tools).map(({ action }) => ({
      ...newEventEnvelope(),
      source: 'user' as const,
      kind: 'UserRejectObservation' as const,
      action_id: action.id,
      tool_name: action.tool_name,
      tool_call_id: action.tool_call_id,
      rejection_reason: response.reason ?? 'User rejected the action',
      rejection_source: 'user' as const,
    }));
    if (rejections.length > 0) await this.appendEvents(rejections);
    await this.#setStatus('idle');
    return 'idle';
  }

  /**
   * Replaces the agent, like a resume with a changed agent: verified (same kind, no tool
   * removed), recorded as a `ConversationStateUpdateEvent` with key `agent` (secrets redacted),
   * effective from the next LLM call. Not while running.
   *
   * @throws AgentKindMismatchError, ToolsRemovedError, UnsupportedKindError, ConversationRunningError.
   */
  async setAgent(agent: AgentInput): Promise<ResumePlan> {
    this.#assertWritable();
    if (this.#running !== undefined)
      throw new ConversationRunningError(this.id, 'replace the agent');
    const plan = planResume(agent, this.#state.agent);
    verifiedAgent(agent, this.#state.agent);
    if (plan.changes.length > 0) {
      await this.updateState({ agent: plan.agent });
      await this.appendEvents([
        { ...stateUpdateEvent('agent', redactAgent(plan.agent)), changes: plan.changes },
      ]);
    }
    return plan;
  }

  /**
   * Condenses the history now (the agent's condenser, or one on its own LLM); while running,
   * a `CondensationRequest` is recorded and the next step condenses.
   */
  async condense(): Promise<void> {
    this.#assertWritable();
    if (this.#running !== undefined) {
      await this.appendEvents([
        { ...newEventEnvelope(), source: 'user', kind: 'CondensationRequest' },
      ]);
      return;
    }
    if (effectiveCondenser(this.#state.agent, true) === undefined) return;
    await maybeCondense(this.#runHost(), new AbortController().signal, true);
    await this.#persistState();
  }

  /**
   * Adds named secrets to the conversation's registry (persisted encrypted or redacted, and
   * masked in tool output).
   */
  async setSecrets(secrets: Record<string, string | SecretSource>): Promise<void> {
    this.#assertWritable();
    const sources: Record<string, SecretSource> = { ...this.#state.secret_registry.secret_sources };
    for (const [name, value] of Object.entries(secrets)) {
      sources[name] = typeof value === 'string' ? { kind: 'StaticSecret', value } : value;
    }
    await this.updateState({
      secret_registry: { ...this.#state.secret_registry, secret_sources: sources },
    });
  }

  /**
   * Asks the agent's LLM a question about the conversation, without tools and without
   * changing the log; the usage counts in `stats`.
   */
  async askAgent(question: string): Promise<string> {
    this.#assertOpen();
    const agent = this.#state.agent;
    const context = this.#contextBuilder.build({
      events: this.events,
      agent,
      provider: providerIdentity(agent.llm),
    });
    const result = await callLLM({
      llm: agent.llm,
      system: context.system,
      messages: [...context.messages, { role: 'user', content: question }],
      tools: [],
      languageModel: this.#options.languageModel,
    });
    await this.recordUsage(result.usage);
    return result.text;
  }

  /**
   * Records that the conversation now lives elsewhere (after a teleport): from now on this
   * copy refuses to run or write, with `ConversationTeleportedError` saying where it went.
   * With `exported` (the event count and/or last event id of the bundle that left), it refuses
   * with `ConversationChangedSinceExportError` and stays runnable when events were appended
   * since; appends still queued when it parks are refused, so none lands after the parking.
   */
  async markTeleported(
    destination: { to: string; bundleId?: string },
    exported?: ExportedExtent,
  ): Promise<void> {
    this.#assertWritable();
    if (this.#running !== undefined) throw new ConversationRunningError(this.id, 'teleport');
    // In the log's write queue: no append lands between the check and the parking, and every
    // append queued after it is refused (see appendEvents).
    await this.#log.exclusive(async () => {
      this.#assertWritable();
      const actual = { eventCount: this.#log.length, lastEventId: this.#log.at(-1)?.id };
      if (
        exported !== undefined &&
        ((exported.eventCount !== undefined && exported.eventCount !== actual.eventCount) ||
          (exported.lastEventId !== undefined && exported.lastEventId !== actual.lastEventId))
      ) {
        throw new ConversationChangedSinceExportError(this.id, exported, actual);
      }
      await this.updateState({
        teleport: {
          to: destination.to,
          at: new Date().toISOString(),
          ...(destination.bundleId === undefined ? {} : { bundle_id: destination.bundleId }),
        },
      });
    });
  }

  /** Records the arrival of a teleported conversation here: a `TeleportEvent` and no parked mark. */
  async recordArrival(hop: { from: string; to: string; bundleId: string }): Promise<void> {
    this.#assertOpen();
    await this.updateState({ teleport: null });
    await this.appendEvents([
      {
        ...newEventEnvelope(),
        source: 'environment',
        kind: 'TeleportEvent',
        from: hop.from,
        to: hop.to,
        bundle_id: hop.bundleId,
      },
    ]);
  }

  /** The current execution status. */
  get status(): ExecutionStatus {
    return this.#state.execution_status;
  }

  /**
   * Runs the agent until the status leaves `running` and resolves with that status:
   * `finished`, `paused` (by `pause()` between steps or by `interrupt()`), `error`
   * (`max_iterations`, or a failure, which is also thrown as a typed error after it is recorded
   * as a `ConversationErrorEvent`). Calling it while a run is going returns that run.
   */
  run(): Promise<ExecutionStatus> {
    this.#assertWritable();
    this.#running ??= this.#run().finally(() => {
      this.#running = undefined;
      this.#abort = undefined;
    });
    return this.#running;
  }

  /** True while `run()` is going. */
  get isRunning(): boolean {
    return this.#running !== undefined;
  }

  /**
   * Stops the run after the current step (a `PauseEvent` is recorded now); `run()` then
   * resolves with `paused`. When not running, the status becomes `paused`.
   */
  async pause(): Promise<void> {
    this.#assertOpen();
    // Set before the first await so the loop sees it at its next check.
    const running = this.#running !== undefined;
    if (running) this.#pauseRequested = true;
    await this.appendEvents([{ ...newEventEnvelope(), source: 'user', kind: 'PauseEvent' }]);
    if (!running && this.#state.execution_status !== 'paused') await this.#setStatus('paused');
  }

  /**
   * Aborts the LLM call or tool in flight at once. Actions left without a result get an
   * `AgentErrorEvent`; `run()` resolves with `paused`. Resolves when the run has stopped.
   */
  async interrupt(): Promise<void> {
    this.#assertOpen();
    const running = this.#running;
    if (running === undefined) return;
    this.#pauseRequested = true;
    this.#abort?.abort(new FerryError('INTERRUPTED', 'interrupted by the user'));
    await running.catch(() => undefined);
  }

  /** New events as they are appended, until the conversation closes: `for await (const e of conversation)`. */
  [Symbol.asyncIterator](): AsyncIterator<AnyEvent> {
    return this.#stream.subscribe();
  }

  async #run(): Promise<ExecutionStatus> {
    this.#pauseRequested = false;
    const abort = new AbortController();
    this.#abort = abort;
    // Running again while actions wait for confirmation accepts them.
    const executePending = this.#state.execution_status === 'waiting_for_confirmation';
    if (this.#state.execution_status === 'error') {
      // A run that failed while the disk refused writes could not answer its action in flight.
      const answers = answersForInterruptedActions(this.#log, FAILED_RUN_ACTION_ERROR);
      if (answers.length > 0) await this.appendEvents(answers);
    }
    await this.#setStatus('running');
    const host = this.#runHost();
    let failed = false;
    try {
      const mcpTools = await this.#mcpTools();
      return await runLoop(host, {
        tools: mcpTools.length > 0 ? this.#tools.with(mcpTools) : this.#tools,
        autoTools: mcpTools,
        signal: abort.signal,
        executePending,
      });
    } catch (error) {
      if (abort.signal.aborted) {
        const answers = answersForInterruptedActions(this.#log, INTERRUPTED_ACTION_ERROR);
        if (answers.length > 0) await this.appendEvents(answers);
        await this.#setStatus('paused');
        return 'paused';
      }
      // Actions left without a result get one, so the LLM is not told they never ran.
      const detail = error instanceof Error ? error.message : String(error);
      const answers = answersForInterruptedActions(
        this.#log,
        this.#maskSecrets(
          `The run stopped with an error before this action's result was recorded (${detail}); it may or may not have taken effect.`,
        ),
      );
      failed = true;
      await this.appendEvents(answers).catch(() => undefined);
      await failRun(host, error).catch(() => {
        // The disk refuses writes: the run is over all the same, so say so in memory. The next
        // run() answers the actions left without a result (see above).
        this.#state = { ...this.#state, execution_status: 'error' };
        this.#stateSnapshot = undefined;
      });
      throw error;
    } finally {
      // After a failure, the run's own error matters more than a state that cannot be written.
      await this.#persistState().catch((persistError: unknown) => {
        if (!failed) throw persistError;
      });
    }
  }

  #runHost(): RunHost {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- getters below read live private state
    const self = this;
    return {
      id: this.id,
      get agent() {
        return self.#state.agent;
      },
      get liveState() {
        return self.#state;
      },
      workspace: this.workspace,
      store: this.#store,
      eventsSnapshot: () => this.events,
      contextBuilder: this.#contextBuilder,
      appendEvents: (events) => this.appendEvents(events),
      setStatus: (status) => this.#setStatus(status),
      recordUsageInMemory: (usage) => {
        this.#state = { ...this.#state, stats: addUsage(this.#state.stats, usage) };
        this.#stateSnapshot = undefined;
      },
      statsEvent: () => stateUpdateEvent('stats', this.#state.stats),
      maskSecrets: (text) => this.#maskSecrets(text),
      pauseRequested: () => this.#pauseRequested,
      onTextDelta: this.#options.onTextDelta,
      stuckThresholds: { ...DEFAULT_STUCK_THRESHOLDS, ...this.#options.stuckThresholds },
      languageModel: this.#options.languageModel,
    };
  }

  #maskSecrets(text: string): string {
    this.#secretValues ??= collectSecretValues(this.#state).sort((a, b) => b.length - a.length);
    let masked = text;
    for (const secret of this.#secretValues) masked = masked.split(secret).join('<secret-hidden>');
    return masked;
  }

  async #setStatus(status: ExecutionStatus): Promise<void> {
    if (this.#state.execution_status === status) return;
    await this.updateState({ execution_status: status }, { record: 'execution_status' });
  }

  async #persistState(): Promise<void> {
    if (!this.#closed) await writeState(this.#store, this.#state, this.#cipher);
  }

  /** Flushes and releases the conversation; further calls throw `ConversationClosedError`. */
  /**
   * The tools of the agent's MCP servers, connected lazily on the first run and again when
   * the agent's `mcp_config` or tool filter changes.
   */
  async #mcpTools(): Promise<ToolDefinition[]> {
    const agent = this.#state.agent;
    const servers = (agent.mcp_config as { mcpServers?: Record<string, unknown> }).mcpServers;
    if (servers === undefined || Object.keys(servers).length === 0) {
      await this.#closeMcp();
      return [];
    }
    const key = JSON.stringify([agent.mcp_config, agent.filter_tools_regex ?? null]);
    if (this.#mcp?.key !== key) {
      await this.#closeMcp();
      this.#mcp = {
        key,
        provider: new McpToolProvider({
          config: agent.mcp_config,
          ...(agent.filter_tools_regex ? { filter: agent.filter_tools_regex } : {}),
          cwd: this.workspace.workingDir,
        }),
      };
    }
    return this.#mcp.provider.tools();
  }

  async #closeMcp(): Promise<void> {
    const mcp = this.#mcp;
    this.#mcp = undefined;
    await mcp?.provider.close();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#running !== undefined) await this.interrupt();
    await this.#closeMcp();
    this.#closed = true;
    this.#listeners.clear();
    this.#stream.end();
    await this.#lock.release();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * Appends events durably (one write, one fsync), then tells the listeners. For the run loop
   * and integrations; events must be valid documents with fresh ids.
   */
  async appendEvents(events: readonly Event[]): Promise<void> {
    this.#assertOpen();
    if (events.length === 0) return;
    // Checked when the append's turn comes: a copy parked meanwhile by a teleport takes no more.
    await this.#log.appendMany(events, { precondition: () => this.#assertWritable() });
    for (const event of events) {
      this.#notify(event);
      this.#stream.push(event);
    }
  }

  /**
   * Changes state fields and persists the state atomically. With `record`, also appends a
   * `ConversationStateUpdateEvent` for that key (secrets redacted).
   */
  async updateState(
    patch: Partial<ConversationState>,
    options: { record?: keyof ConversationState } = {},
  ): Promise<void> {
    this.#assertOpen();
    const next = { ...this.#state, ...patch };
    await writeState(this.#store, next, this.#cipher);
    this.#state = next;
    this.#stateSnapshot = undefined;
    if ('agent' in patch || 'secret_registry' in patch) this.#secretValues = undefined;
    if (options.record !== undefined) {
      const key = options.record;
      await this.appendEvents([stateUpdateEvent(key, redactState(next)[key])]);
    }
  }

  #notify(event: AnyEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        (this.#options.onWarning ?? console.warn)(`an onEvent listener threw: ${String(error)}`);
      }
    }
  }

  #assertOpen(): void {
    if (!this.#closed) return;
    // A handle closed by a teleport says where the conversation went, not just "closed".
    const teleport = this.#state.teleport;
    if (teleport !== undefined && teleport !== null) {
      throw new ConversationTeleportedError(this.id, teleport.to, teleport.at);
    }
    throw new ConversationClosedError(this.id);
  }

  #assertWritable(): void {
    this.#assertOpen();
    const teleport = this.#state.teleport;
    if (teleport !== undefined && teleport !== null) {
      throw new ConversationTeleportedError(this.id, teleport.to, teleport.at);
    }
  }
}

/**
 * Writes the state document atomically. A disk failure becomes a typed error; the previous
 * state is intact (the write is a temp file renamed over it).
 */
async function writeState(
  store: FileStore,
  state: ConversationState,
  cipher: SecretCipher | undefined,
): Promise<void> {
  try {
    await writeJsonAtomic(store, BASE_STATE_FILE, sealState(state, cipher));
  } catch (error) {
    if (FerryError.isInstance(error)) throw error;
    throw new FerryError(
      'STATE_WRITE_FAILED',
      `Could not write ${store.describe(BASE_STATE_FILE)} (${error instanceof Error ? error.message : String(error)}). ` +
        'The previous state is intact; free space or fix permissions, then retry.',
      { cause: error },
    );
  }
}

function rootStore(persistenceDir: string | undefined): FileStore {
  if (persistenceDir === undefined) {
    throw new FerryError(
      'PERSISTENCE_DIR_REQUIRED',
      'LocalConversation.open needs `persistenceDir` (a folder) or `store` (e.g. new InMemoryFileStore()).',
    );
  }
  return new LocalFileStore({ root: persistenceDir });
}

function verifiedAgent(runtime: AgentInput, persisted: Agent): Agent {
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

function lastStateUpdate(log: EventLog, key: string): unknown {
  for (let index = log.length - 1; index >= 0; index -= 1) {
    const event = log.at(index);
    if (event?.kind === 'ConversationStateUpdateEvent' && event.key === key) return event.value;
  }
  return undefined;
}

function stateUpdateEvent(key: string, value: unknown): ConversationStateUpdateEvent {
  return {
    ...newEventEnvelope(),
    source: 'environment',
    kind: 'ConversationStateUpdateEvent',
    key,
    value,
  };
}

interface CreateInput {
  id: string;
  store: FileStore;
  lock: ConversationLock;
  cipher: SecretCipher | undefined;
  options: LocalConversationOptions;
}

async function create(input: CreateInput): Promise<Parts> {
  const { id, store, cipher, options } = input;
  if (options.agent === undefined) throw new AgentRequiredError(store.describe(''));
  const state = conversationStateSchema.parse({
    id,
    agent: agentSchema.parse(options.agent),
    workspace: workspaceDescriptor(options.workspace),
    persistence_dir: store.describe(''),
    ...(options.maxIterations === undefined ? {} : { max_iterations: options.maxIterations }),
    ...(options.stuckDetection === undefined ? {} : { stuck_detection: options.stuckDetection }),
    ...(options.title === undefined ? {} : { title: options.title }),
  });
  const log = await EventLog.open({ store, fsync: options.fsync ?? true });
  await writeState(store, state, cipher);
  return conversationParts(input, log, state, {
    mode: 'created',
    agentChanges: [],
    recoveredFromCrash: false,
  });
}

/** What the constructor needs, once the log is open and the state written. */
function conversationParts(
  input: CreateInput,
  log: EventLog,
  state: ConversationState,
  report: OpenReport,
): Parts {
  const { id, store, lock, cipher, options } = input;
  return { id, store, log, lock, state, cipher, workspace: options.workspace, options, report };
}

interface ResumeInput extends CreateInput {
  persisted: unknown;
  warn: (message: string) => void;
}

async function resume(input: ResumeInput): Promise<Parts> {
  const { id, store, cipher, options, warn } = input;
  const parsed = conversationStateSchema.safeParse(input.persisted);
  if (!parsed.success) {
    throw new FerryError(
      'INVALID_STATE_DOCUMENT',
      `${store.describe(BASE_STATE_FILE)} is not a valid conversation state: ${parsed.error.message}`,
      { cause: parsed.error },
    );
  }
  if (canonicalId(parsed.data.id) !== id) {
    throw new ConversationIdMismatchError(parsed.data.id, id, store.describe(''));
  }
  const persisted = unsealState(parsed.data, cipher, warn);

  let agent = persisted.agent;
  let agentChanges: ResumeChange[] = [];
  if (options.agent !== undefined) {
    agent = verifiedAgent(options.agent, persisted.agent);
    agentChanges = planResume(agent, persisted.agent).changes;
  }

  // Verification passed: from here on the conversation is ours to change.
  const log = await EventLog.open({ store, fsync: options.fsync ?? true, onWarning: warn });
  const crashed = persisted.execution_status === 'running';
  const state: ConversationState = {
    ...persisted,
    id,
    agent,
    workspace: workspaceDescriptor(options.workspace),
    persistence_dir: store.describe(''),
    max_iterations: options.maxIterations ?? persisted.max_iterations,
    stuck_detection: options.stuckDetection ?? persisted.stuck_detection,
    execution_status: crashed ? 'error' : persisted.execution_status,
  };

  const recovery: Event[] = [];
  if (crashed) {
    // Each step logs the stats it reached; they are newer than the state written at run start.
    const lastStats = lastStateUpdate(log, 'stats');
    if (lastStats !== undefined) {
      const stats = conversationStatsSchema.safeParse(lastStats);
      if (stats.success) state.stats = stats.data;
    }
    recovery.push(...answersForUnansweredActions(log));
    recovery.push(stateUpdateEvent('execution_status', 'error'));
  }
  // A secret that was redacted on disk is unknown, so supplying it again is not a change.
  if (agentChanges.some((change) => !(change.secret && change.old === undefined))) {
    const event = stateUpdateEvent('agent', redactAgent(agent));
    recovery.push({ ...event, changes: agentChanges });
  }
  if (recovery.length > 0) await log.appendMany(recovery);
  await writeState(store, state, cipher);
  return conversationParts(input, log, state, {
    mode: 'resumed',
    agentChanges,
    recoveredFromCrash: crashed,
  });
}
