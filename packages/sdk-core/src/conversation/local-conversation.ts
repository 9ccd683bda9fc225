import type { Agent, AgentInput } from '../agent/agent-schema';
import { LLMContextBuilder, type LLMContext } from '../agent/build-messages';
import { planResume, type ResumePlan } from '../agent/verify-agent';
import { ConversationClosedError } from '../errors/conversation-closed-error';
import type { ExportedExtent } from '../errors/conversation-changed-since-export-error';
import { ConversationRunningError } from '../errors/conversation-running-error';
import { ConversationTeleportedError } from '../errors/conversation-teleported-error';
import { FerryError } from '../errors/ferry-error';
import type { MessageContent } from '../event/content';
import { newEventEnvelope } from '../event/event-base';
import type { Event, MessageEvent } from '../event/event-schemas';
import type { AnyEvent } from '../event/parse-event';
import { callLLM, providerIdentity } from '../llm/call-llm';
import type { SecretCipher } from '../secrets/secret-cipher';
import { collectSecretValues, redactAgent, redactState } from '../secrets/secret-codec';
import { secretEnvFor } from '../secrets/secret-env';
import type { ConversationLease, ConversationStore } from '../store/conversation-store';
import { toolRegistryFor } from '../tool/builtin-tools';
import type { ToolRegistry } from '../tool/tool-registry';
import { confirmationPolicySchema, type ConfirmationPolicyInput } from './confirmation-policy';
import type { ConversationLog } from './conversation-log';
import type {
  ConversationWorkspace,
  EventListener,
  ForkOptions,
  LocalConversationOptions,
  OpenReport,
  TeleportHop,
} from './conversation-options';
import { createEventList, type EventList } from './event-list';
import { EventStream } from './event-stream';
import { forkConversation } from './fork-conversation';
import { LeaseKeeper } from './lease-keeper';
import { McpToolCache } from './mcp-tool-cache';
import { openConversation, verifiedAgent, type ConversationParts } from './open-conversation';
import { effectiveCondenser, maybeCondense, pendingActions, type RunHost } from './run-loop';
import type { ConversationState, ExecutionStatus, SecretSource } from './state-schema';
import { runSession, type RunSession } from './run-session';
import { stateUpdateEvent, writeState } from './state-writer';
import { parkConversation, recordArrival, type TeleportTarget } from './teleport-bookkeeping';
import { addUsage, type UsageRecord } from './stats';
import { DEFAULT_STUCK_THRESHOLDS } from './stuck-detector';

export { BASE_STATE_FILE } from '../store/file-layout';
export type {
  ConversationWorkspace,
  EventListener,
  ForkOptions,
  LocalConversationOptions,
  OpenReport,
  TeleportHop,
} from './conversation-options';

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}

/**
 * A conversation persisted in a {@link ConversationStore} (a folder by default): an append-only
 * event log plus the state document. Open it with {@link LocalConversation.open}, which creates or resumes; a resume may
 * bring a changed agent (see {@link planResume}).
 */
export class LocalConversation {
  /** The conversation's id (a UUID with dashes). */
  readonly id: string;
  /** What `open()` did: created or resumed, agent changes, crash recovery. */
  readonly openReport: OpenReport;
  /** The workspace the conversation runs in now. */
  readonly workspace: ConversationWorkspace;
  /**
   * The conversation's events, in order: the whole history. After a resume only the live
   * context (since the last condensation) is in memory; older events are read from the store
   * the first time something asks for them.
   */
  readonly events: EventList;
  /** What the next LLM request can need: the live context, then every append. */
  readonly #liveEvents: EventList;

  readonly #store: ConversationStore;
  readonly #log: ConversationLog;
  readonly #keeper: LeaseKeeper;
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
  readonly #mcp = new McpToolCache();
  #abort: AbortController | undefined;
  /** The state write going on, if any: {@link updateState} writes one at a time. */
  #stateWrites: Promise<void> = Promise.resolve();

  private constructor(parts: ConversationParts) {
    this.id = parts.id;
    this.#store = parts.store;
    this.#log = parts.log;
    this.#keeper = new LeaseKeeper(parts.store, parts.lease, (error) =>
      this.#warn(`Could not renew the lease of conversation ${parts.id}: ${String(error)}`),
    );
    this.#state = parts.state;
    this.#cipher = parts.cipher;
    this.#options = parts.options;
    this.workspace = parts.workspace;
    this.openReport = parts.report;
    this.events = createEventList(parts.log);
    this.#liveEvents = createEventList(parts.log.live);
    this.#tools = toolRegistryFor(parts.options.tools);
    if (parts.options.onEvent !== undefined) this.#listeners.add(parts.options.onEvent);
  }

  /**
   * Creates the conversation when its store holds no state for it, and resumes it otherwise.
   *
   * On resume: the id must match; the runtime agent (if given) replaces the persisted one after
   * verification (same kind, no tool removed) and the change is recorded as a
   * `ConversationStateUpdateEvent` with key `agent`; the workspace is the runtime one;
   * `maxIterations`/`stuckDetection` override only when given; a conversation persisted as
   * `running` becomes `error` with an `AgentErrorEvent` for each unanswered action (or
   * `finished` when its log shows the run had ended before the process stopped); stats,
   * confirmation policy, tags and title are kept. A failed resume changes nothing on disk.
   *
   * @throws ConversationLockedError when another live owner holds its lease.
   * @throws InvalidOptionError for a `maxIterations`/`stuckDetection` the state cannot hold
   *   (on create and on resume alike, before anything is written).
   * @throws ConversationIdMismatchError, AgentKindMismatchError, ToolsRemovedError,
   *   CorruptEventLogError, AgentRequiredError (a refused create leaves nothing behind).
   */
  static async open(options: LocalConversationOptions): Promise<LocalConversation> {
    const parts = await openConversation(options);
    const conversation = new LocalConversation(parts);
    // Appended by the open (`arrival`): told as `recordArrival` would tell it.
    if (parts.arrived !== undefined) conversation.#announce([parts.arrived]);
    return conversation;
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

  /** Where the conversation is persisted (an absolute folder, a `memory:/` location, a database). */
  get persistenceDir(): string {
    return this.#store.describe(this.id);
  }

  /** The store the conversation persists in. */
  get store(): ConversationStore {
    return this.#store;
  }

  /** The conversation's current lease in its store (its fencing token). */
  get lease(): ConversationLease {
    return this.#keeper.lease;
  }

  /**
   * True when every event of the conversation is in memory, so reading `events` reads nothing
   * from the store: the open read the whole log, or something has asked for the older events
   * since. False after a resume that read only the live context.
   */
  get historyInMemory(): boolean {
    return this.#log.loadedFrom === 0;
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
    // OpenHands keeps the latest user message's id in the state (`last_user_message_id`).
    await this.updateState({ last_user_message_id: event.id });
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
    const parts = await forkConversation(
      {
        id: this.id,
        store: this.#store,
        log: this.#log,
        state: this.#state,
        cipher: this.#cipher,
        workspace: this.workspace,
        options: this.#options,
      },
      options,
    );
    return new LocalConversation(parts);
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
    const rejections = pendingActions(this.#liveEvents, this.#tools).map(({ action }) => ({
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
   * The system prompt and messages the next LLM call sends (as `run()` would send them now),
   * built from the live context. The conversation keeps what it converted, so the run's next
   * step converts only the events added since.
   */
  nextLLMContext(): LLMContext {
    this.#assertOpen();
    const agent = this.#state.agent;
    return this.#contextBuilder.build({
      events: this.#liveEvents,
      agent,
      provider: providerIdentity(agent.llm),
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
      events: this.#liveEvents,
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
    await parkConversation(this.#teleportTarget(), destination, exported);
  }

  /** Records the arrival of a teleported conversation here: a `TeleportEvent` and no parked mark. */
  async recordArrival(hop: TeleportHop): Promise<void> {
    this.#assertOpen();
    await recordArrival(this.#teleportTarget(), hop);
  }

  #teleportTarget(): TeleportTarget {
    return {
      id: this.id,
      log: this.#log,
      assertWritable: () => this.#assertWritable(),
      updateState: (patch) => this.updateState(patch),
      appendEvents: (events) => this.appendEvents(events),
    };
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
   * `AgentErrorEvent`, the status becomes `paused`, then an `InterruptEvent` is recorded;
   * `run()` resolves with `paused`. Resolves when the run has stopped. Not running: nothing.
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

  #run(): Promise<ExecutionStatus> {
    this.#pauseRequested = false;
    const abort = new AbortController();
    this.#abort = abort;
    const session: RunSession = {
      host: this.#runHost(),
      log: this.#log,
      status: () => this.#state.execution_status,
      tools: async () => {
        const autoTools = await this.#mcp.tools(this.#state.agent, this.workspace.workingDir);
        return {
          tools: autoTools.length > 0 ? this.#tools.with(autoTools) : this.#tools,
          autoTools,
        };
      },
      appendEvents: (events) => this.appendEvents(events),
      setStatus: (status) => this.#setStatus(status),
      maskSecrets: (text) => this.#maskSecrets(text),
      markErrorInMemory: () => {
        this.#state = { ...this.#state, execution_status: 'error' };
        this.#stateSnapshot = undefined;
      },
      persistState: () => this.#persistState(),
    };
    return runSession(session, abort.signal);
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
      store: this.#store.files(this.id),
      eventsSnapshot: () => this.#liveEvents,
      contextBuilder: this.#contextBuilder,
      appendEvents: (events) => this.appendEvents(events),
      setStatus: (status) => this.#setStatus(status),
      recordUsageInMemory: (usage) => {
        this.#state = { ...this.#state, stats: addUsage(this.#state.stats, usage) };
        this.#stateSnapshot = undefined;
      },
      statsEvent: () => stateUpdateEvent('stats', this.#state.stats),
      maskSecrets: (text) => this.#maskSecrets(text),
      secretEnv: (command) => secretEnvFor(this.#state, command),
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
    if (!this.#closed) await writeState(this.#store, this.#keeper.lease, this.#state, this.#cipher);
  }

  /** Flushes and releases the conversation; further calls throw `ConversationClosedError`. */
  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#running !== undefined) await this.interrupt();
    await this.#mcp.close();
    this.#closed = true;
    this.#listeners.clear();
    this.#stream.end();
    await this.#keeper.stop();
    await this.#store.releaseLease(this.#keeper.lease);
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
    this.#announce(events);
  }

  /** Gives events now in the log to the listeners and the stream. */
  #announce(events: readonly Event[]): void {
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
    // One write at a time, each from the state as it is then, and the patch applied to the
    // state as it is once written: two updates at once (a title while a message is recorded,
    // usage counted during a write) both stay, in memory and on disk.
    const write = this.#stateWrites.then(async () => {
      await writeState(this.#store, this.#keeper.lease, { ...this.#state, ...patch }, this.#cipher);
      this.#state = { ...this.#state, ...patch };
      this.#stateSnapshot = undefined;
      if ('agent' in patch || 'secret_registry' in patch) this.#secretValues = undefined;
    });
    this.#stateWrites = write.catch(() => undefined);
    await write;
    if (options.record !== undefined) {
      const key = options.record;
      await this.appendEvents([stateUpdateEvent(key, redactState(this.#state)[key])]);
    }
  }

  #notify(event: AnyEvent): void {
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        this.#warn(`an onEvent listener threw: ${String(error)}`);
      }
    }
  }

  #warn(message: string): void {
    (this.#options.onWarning ?? console.warn)(message);
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
