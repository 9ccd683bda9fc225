import {
  ConversationClosedError,
  ConversationRunningError,
  ConversationTeleportedError,
  EventStream,
  contentToText,
  conversationStateSchema,
  type Agent,
  type AgentInput,
  type AnyEvent,
  type ConfirmationPolicyInput,
  type ConversationState,
  type EventList,
  type EventListener,
  type ExecutionStatus,
  type FerryError,
  type MessageContent,
  type MessageEvent,
  type ResumeChange,
  type ResumeProblem,
  type StoredEvent,
  type TeleportInfo,
} from '@ferry/sdk-core';
import { z } from 'zod';
import { HttpClient } from '../http/http-client';
import { RemoteWorkspace } from '../workspace/remote-workspace';
import { EventSocket, type ReconnectOptions } from './event-socket';
import { RemoteEventList } from './remote-event-list';

/** Options shared by {@link RemoteConversation.create} and {@link RemoteConversation.attach}. */
export interface RemoteConversationOptions {
  /** Base URL of the Ferry server, e.g. `http://127.0.0.1:8000`. */
  host: string;
  /** Sent as `X-Session-API-Key` on every request and on the events WebSocket. */
  apiKey?: string;
  /** Seconds each HTTP request may take (default 60). */
  timeout?: number;
  /** Called with every new event, in order, once it is in `events`. */
  onEvent?: EventListener;
  /** Called with recoverable problems (a listener that threw). Default: `console.warn`. */
  onWarning?: (message: string) => void;
  /** How the events WebSocket reconnects after a dropped connection. */
  reconnect?: ReconnectOptions;
}

/** Options of {@link RemoteConversation.create}. */
export interface CreateRemoteConversationOptions extends RemoteConversationOptions {
  agent: AgentInput;
  /**
   * The folder on the server to work in; it must lie in the server's workspace root, else the
   * server gives the conversation a folder of its own there (see `state.workspace`).
   */
  workingDir?: string;
  /** The conversation's id (a UUID); a new one when absent. An existing id is attached to. */
  conversationId?: string;
  maxIterations?: number;
  stuckDetection?: boolean;
  confirmationPolicy?: ConfirmationPolicyInput;
  title?: string;
  tags?: Record<string, string>;
  /** Named secrets for the conversation (sent once, never returned by the server). */
  secrets?: Record<string, string>;
}

/** Options of {@link RemoteConversation.attach}. */
export interface AttachRemoteConversationOptions extends RemoteConversationOptions {
  conversationId: string;
  /**
   * An agent that replaces the conversation's (`PUT .../agent`), verified by the server as a
   * resume is: same kind, no tool removed.
   */
  agent?: AgentInput;
}

/** What replacing the agent changed (the server's `ReplaceAgentResponse`). */
export interface RemoteAgentPlan {
  compatible: boolean;
  problems: ResumeProblem[];
  changes: ResumeChange[];
}

/** Internal: how a handle starts. */
interface Parts {
  client: HttpClient;
  options: RemoteConversationOptions;
  state: ConversationState;
  /** Events already known (e.g. the local log just teleported), in order. */
  seed?: readonly StoredEvent[];
}

const eventPageSchema = z.looseObject({
  items: z.array(z.looseObject({ id: z.string(), kind: z.string(), timestamp: z.string() })),
  next_page_id: z.string().nullish(),
});

const replaceAgentResponseSchema = z.looseObject({
  plan: z.looseObject({
    compatible: z.boolean(),
    problems: z.array(z.unknown()).default([]),
    changes: z.array(z.unknown()).default([]),
  }),
});

const askAgentResponseSchema = z.looseObject({ response: z.string() });

/** A pending wait on the events, re-checked as each event arrives. */
interface Waiter {
  check: () => boolean;
  reject: (error: unknown) => void;
}

const departures = new WeakMap<RemoteConversation, TeleportInfo>();

/**
 * Internal (for `teleport`): the conversation left the server this handle talks to. The handle
 * is closed and every later call throws `ConversationTeleportedError`.
 */
export async function closeAsDeparted(
  conversation: RemoteConversation,
  departure: TeleportInfo,
): Promise<void> {
  departures.set(conversation, departure);
  await conversation.close();
}

/**
 * A conversation that runs on a Ferry server, with the surface of `LocalConversation`: send
 * messages, `run()` until the status leaves `running`, pause, interrupt, answer confirmations,
 * read `state` and `events`, subscribe with `onEvent` or `for await`.
 *
 * Commands go over REST; events come over the conversation's WebSocket, which reconnects after
 * a dropped connection and resumes after the newest event it holds, so `events` has every event
 * once, in the server's order. `state` is fetched on attach and kept current from the
 * `ConversationStateUpdateEvent`s. Secrets never come back from the server: `state.agent` is
 * redacted.
 */
export class RemoteConversation {
  /** The conversation's id (a UUID with dashes). */
  readonly id: string;
  /** The server's origin. */
  readonly host: string;

  readonly #client: HttpClient;
  readonly #options: RemoteConversationOptions;
  readonly #events = new RemoteEventList();
  readonly #listeners = new Set<EventListener>();
  readonly #stream = new EventStream();
  readonly #waiters = new Set<Waiter>();
  readonly #socket: EventSocket;
  #state: ConversationState;
  #stateSnapshot: ConversationState | undefined;
  #running: Promise<ExecutionStatus> | undefined;
  #failure: FerryError | undefined;
  #closed = false;

  private constructor(parts: Parts) {
    this.#client = parts.client;
    this.#options = parts.options;
    this.host = parts.client.host;
    this.#state = parts.state;
    this.id = parts.state.id;
    for (const event of parts.seed ?? []) this.#events.add(event);
    if (parts.options.onEvent !== undefined) this.#listeners.add(parts.options.onEvent);
    this.#socket = new EventSocket({
      host: this.host,
      apiKey: parts.options.apiKey,
      conversationId: this.id,
      cursor: () => this.#events.lastId,
      onEvent: (event) => this.#receive(event),
      onSnapshot: (state) => this.#applyStateUpdate('full_state', state),
      onFatal: (error) => this.#fail(error),
      ...(parts.options.reconnect === undefined ? {} : { reconnect: parts.options.reconnect }),
    });
  }

  /**
   * Starts a conversation on the server (`POST /api/conversations`) and attaches to it. An
   * existing `conversationId` is attached to unchanged (use `attach` with `agent` to replace
   * its agent).
   */
  static async create(options: CreateRemoteConversationOptions): Promise<RemoteConversation> {
    const client = clientOf(options);
    const info = await client.json({
      method: 'POST',
      path: '/api/conversations',
      json: {
        agent: options.agent,
        workspace: { kind: 'LocalWorkspace', working_dir: options.workingDir ?? null },
        ...(options.conversationId === undefined
          ? {}
          : { conversation_id: options.conversationId }),
        ...(options.maxIterations === undefined ? {} : { max_iterations: options.maxIterations }),
        ...(options.stuckDetection === undefined
          ? {}
          : { stuck_detection: options.stuckDetection }),
        ...(options.confirmationPolicy === undefined
          ? {}
          : { confirmation_policy: options.confirmationPolicy }),
        ...(options.title === undefined ? {} : { title: options.title }),
        ...(options.tags === undefined ? {} : { tags: options.tags }),
        ...(options.secrets === undefined ? {} : { secrets: options.secrets }),
      },
    });
    return RemoteConversation.#open({
      client,
      options,
      state: conversationStateSchema.parse(info),
    });
  }

  /**
   * Attaches to a conversation that exists on the server. With `agent`, the server replaces the
   * conversation's agent first, verified as a resume is (it may change the model, keys,
   * prompts...; it may not change the kind or remove tools).
   *
   * @throws ToolsRemovedError, AgentKindMismatchError (422), ConversationRunningError (409, the
   *   agent cannot change during a run), ConversationTeleportedError, RemoteServerError (404...).
   */
  static async attach(options: AttachRemoteConversationOptions): Promise<RemoteConversation> {
    const client = clientOf(options);
    const id = options.conversationId;
    if (options.agent !== undefined) {
      await client.json({
        method: 'PUT',
        path: `/api/conversations/${encodeURIComponent(id)}/agent`,
        json: { agent: options.agent },
        context: { conversationId: id, operation: 'replace the agent' },
      });
    }
    const info = await client.json({
      path: `/api/conversations/${encodeURIComponent(id)}`,
      context: { conversationId: id },
    });
    return RemoteConversation.#open({
      client,
      options,
      state: conversationStateSchema.parse(info),
    });
  }

  /**
   * Attaches knowing the first events the server holds (e.g. the log just teleported there):
   * only the ones after them are fetched.
   *
   * @internal Used by `teleport`.
   */
  static async attachWithEvents(
    options: AttachRemoteConversationOptions & { events: readonly StoredEvent[] },
  ): Promise<RemoteConversation> {
    const { events, ...attach } = options;
    const client = clientOf(attach);
    const info = await client.json({
      path: `/api/conversations/${encodeURIComponent(attach.conversationId)}`,
      context: { conversationId: attach.conversationId },
    });
    return RemoteConversation.#open({
      client,
      options: attach,
      state: conversationStateSchema.parse(info),
      seed: events,
    });
  }

  static async #open(parts: Parts): Promise<RemoteConversation> {
    const conversation = new RemoteConversation(parts);
    try {
      await conversation.#catchUp();
    } catch (error) {
      await conversation.close();
      throw error;
    }
    return conversation;
  }

  /**
   * Loads the events the server has (unless seeded) and opens the socket after the newest, so
   * `events` is complete when `attach` resolves and stays complete after.
   */
  async #catchUp(): Promise<void> {
    if (this.#events.length > 0) {
      // Seeded: the socket replays what came after the seed; wait until that is all here.
      const count = z
        .number()
        .int()
        .parse(
          await this.#client.json({
            path: `/api/conversations/${this.id}/events/count`,
            context: { conversationId: this.id },
          }),
        );
      await this.#socket.start();
      await this.#waitForEventCount(count);
      return;
    }
    let pageId: string | undefined;
    do {
      const page = eventPageSchema.parse(
        await this.#client.json({
          path: `/api/conversations/${this.id}/events/search`,
          query: { limit: 100, sort_order: 'TIMESTAMP', page_id: pageId },
          context: { conversationId: this.id },
        }),
      );
      for (const event of page.items) this.#events.add(event);
      pageId = page.next_page_id ?? undefined;
    } while (pageId !== undefined);
    await this.#socket.start();
  }

  /** The state document as the server last told it (secrets redacted), read-only. */
  get state(): ConversationState {
    this.#stateSnapshot ??= deepFreeze(structuredClone(this.#state));
    return this.#stateSnapshot;
  }

  /** The conversation's agent (secrets redacted: the server never sends them back). */
  get agent(): Agent {
    return this.state.agent;
  }

  /** The current execution status, as the events last said. */
  get status(): ExecutionStatus {
    return this.#state.execution_status;
  }

  /** True while a `run()` of this handle waits for the run to end. */
  get isRunning(): boolean {
    return this.#running !== undefined;
  }

  /** The conversation's events received so far, in order, each once. */
  get events(): EventList {
    return this.#events.view;
  }

  /** True after {@link RemoteConversation.close}. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The server folder the conversation works in, as a workspace to read or change its files. */
  get workspace(): RemoteWorkspace {
    return new RemoteWorkspace({
      host: this.host,
      workingDir: this.#state.workspace.working_dir,
      ...(this.#options.apiKey === undefined ? {} : { apiKey: this.#options.apiKey }),
      ...(this.#options.timeout === undefined ? {} : { timeout: this.#options.timeout }),
    });
  }

  /** The API key this handle sends, for other calls to the same server. */
  get apiKey(): string | undefined {
    return this.#options.apiKey;
  }

  /** How many times the events socket connected (1 when it never had to reconnect). */
  get socketConnections(): number {
    return this.#socket.connections;
  }

  /** Subscribes to new events; returns the function that unsubscribes. */
  onEvent(listener: EventListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** New events as they arrive, until the conversation is closed: `for await (const e of c)`. */
  [Symbol.asyncIterator](): AsyncIterator<AnyEvent> {
    return this.#stream.subscribe();
  }

  /**
   * Sends a user message, picked up by the next step of a run. Resolves with the message's
   * event once it is in `events`.
   */
  async sendMessage(
    message: string | { content: MessageContent[]; sender?: string },
  ): Promise<MessageEvent> {
    this.#assertWritable();
    const content: MessageContent[] =
      typeof message === 'string' ? [{ type: 'text', text: message }] : message.content;
    const sent = contentToText(content);
    const baseline = this.#events.length;
    await this.#post('events', { role: 'user', content, run: false }, 'send a message');
    let position = baseline;
    return this.#waitFor(() => {
      for (; position < this.#events.length; position += 1) {
        const event = this.#events.at(position);
        if (
          event?.kind === 'MessageEvent' &&
          event.source === 'user' &&
          contentToText((event as MessageEvent).llm_message.content) === sent
        ) {
          return event as MessageEvent;
        }
      }
      return undefined;
    });
  }

  /**
   * Runs the agent on the server until the status leaves `running` and resolves with that
   * status (`finished`, `paused`, `waiting_for_confirmation`, `error`, `stuck`). A failure is
   * recorded in `events` as a `ConversationErrorEvent` and resolves as `error`. Calling it while
   * a run is going (started here or elsewhere) waits for that run.
   */
  run(): Promise<ExecutionStatus> {
    this.#assertWritable();
    this.#running ??= this.#run().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #run(): Promise<ExecutionStatus> {
    const baseline = this.#events.length;
    try {
      await this.#post('run', undefined, 'start a run');
    } catch (error) {
      if (!ConversationRunningError.isInstance(error)) throw error;
      return this.#statusAfter(baseline, false);
    }
    return this.#statusAfter(baseline, true);
  }

  /** Stops the run after the current step; `run()` then resolves with `paused`. */
  async pause(): Promise<void> {
    this.#assertOpen();
    await this.#post('pause', undefined, 'pause');
  }

  /**
   * Aborts the LLM call or tool in flight. Resolves once the run has stopped and its last
   * status is in `state`.
   */
  async interrupt(): Promise<void> {
    this.#assertOpen();
    const baseline = this.#events.length;
    await this.#post('interrupt', undefined, 'interrupt');
    if (this.#state.execution_status === 'running') await this.#statusAfter(baseline, false);
  }

  /**
   * Answers the actions held by the confirmation policy. Accepting executes them and goes on
   * running (resolving like `run()`); rejecting resolves with `idle`.
   */
  async respondToConfirmation(response: {
    accept: boolean;
    reason?: string;
  }): Promise<ExecutionStatus> {
    this.#assertWritable();
    const baseline = this.#events.length;
    await this.#post(
      'events/respond_to_confirmation',
      {
        accept: response.accept,
        ...(response.reason === undefined ? {} : { reason: response.reason }),
      },
      'respond to confirmation',
    );
    return this.#statusAfter(baseline, response.accept);
  }

  /** Changes when the conversation asks before executing actions. */
  async setConfirmationPolicy(policy: ConfirmationPolicyInput): Promise<void> {
    this.#assertWritable();
    await this.#post('confirmation_policy', { policy }, 'set the confirmation policy');
  }

  /**
   * Replaces the agent (`PUT .../agent`), verified by the server like a resume.
   *
   * @throws ToolsRemovedError, AgentKindMismatchError, ConversationRunningError.
   */
  async setAgent(agent: AgentInput): Promise<RemoteAgentPlan> {
    this.#assertWritable();
    const answer = replaceAgentResponseSchema.parse(
      await this.#client.json({
        method: 'PUT',
        path: `/api/conversations/${this.id}/agent`,
        json: { agent },
        context: { conversationId: this.id, operation: 'replace the agent' },
      }),
    );
    await this.refresh();
    return answer.plan as RemoteAgentPlan;
  }

  /** Sets the title and/or tags. */
  async updateMetadata(update: {
    title?: string | null;
    tags?: Record<string, string>;
  }): Promise<void> {
    this.#assertOpen();
    await this.#client.json({
      method: 'PATCH',
      path: `/api/conversations/${this.id}`,
      json: update,
      context: { conversationId: this.id },
    });
    await this.refresh();
  }

  /** Adds named secrets (sent once; the server never returns them). */
  async setSecrets(secrets: Record<string, string>): Promise<void> {
    this.#assertWritable();
    await this.#post('secrets', { secrets }, 'set secrets');
  }

  /** Asks the agent's LLM a question without changing the log. */
  async askAgent(question: string): Promise<string> {
    this.#assertOpen();
    const answer = await this.#client.json({
      method: 'POST',
      path: `/api/conversations/${this.id}/ask_agent`,
      json: { question },
      timeout: null,
      context: { conversationId: this.id },
    });
    return askAgentResponseSchema.parse(answer).response;
  }

  /** Condenses the history now (or at the next step of a run). */
  async condense(): Promise<void> {
    this.#assertWritable();
    await this.#post('condense', undefined, 'condense');
  }

  /** Forks the conversation on the server and attaches to the fork. */
  async fork(
    options: { conversationId?: string; fromEventId?: string; title?: string } = {},
  ): Promise<RemoteConversation> {
    this.#assertOpen();
    const info = z.looseObject({ id: z.string() }).parse(
      await this.#client.json({
        method: 'POST',
        path: `/api/conversations/${this.id}/fork`,
        json: {
          ...(options.conversationId === undefined ? {} : { id: options.conversationId }),
          ...(options.fromEventId === undefined ? {} : { from_event_id: options.fromEventId }),
          ...(options.title === undefined ? {} : { title: options.title }),
        },
        context: { conversationId: this.id },
      }),
    );
    const { onEvent: _onEvent, ...rest } = this.#options;
    return RemoteConversation.attach({ ...rest, conversationId: info.id });
  }

  /** Fetches the state document again (it is otherwise kept current from the events). */
  async refresh(): Promise<ConversationState> {
    this.#assertOpen();
    const info = await this.#client.json({
      path: `/api/conversations/${this.id}`,
      context: { conversationId: this.id },
    });
    this.#setState(conversationStateSchema.parse(info));
    return this.state;
  }

  /**
   * Stops listening: closes the WebSocket, ends the async iterators. The conversation goes on
   * living on the server (a run keeps going); attach again to follow it.
   */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    this.#socket.close();
    this.#listeners.clear();
    this.#stream.end();
    const departure = departures.get(this);
    const error =
      departure === undefined
        ? new ConversationClosedError(this.id)
        : new ConversationTeleportedError(this.id, departure.to, departure.at);
    for (const waiter of this.#waiters) waiter.reject(error);
    this.#waiters.clear();
    return Promise.resolve();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Waits until `events` holds at least `count` events. */
  async #waitForEventCount(count: number): Promise<void> {
    await this.#waitFor(() => (this.#events.length >= count ? true : undefined));
  }

  async #post(path: string, body: unknown, operation: string): Promise<void> {
    await this.#client.json({
      method: 'POST',
      path: `/api/conversations/${this.id}/${path}`,
      ...(body === undefined ? {} : { json: body }),
      context: { conversationId: this.id, operation },
    });
  }

  /**
   * Resolves with the first execution status other than `running` recorded at or after event
   * `baseline`; with `afterRunning`, only one that follows a `running` there (the run that was
   * just started, not an earlier status still on its way).
   */
  #statusAfter(baseline: number, afterRunning: boolean): Promise<ExecutionStatus> {
    let position = baseline;
    let sawRunning = !afterRunning;
    return this.#waitFor(() => {
      for (; position < this.#events.length; position += 1) {
        const event = this.#events.at(position);
        if (event?.kind !== 'ConversationStateUpdateEvent') continue;
        const update = event as { key: string; value: unknown };
        if (update.key !== 'execution_status') continue;
        if (update.value === 'running') sawRunning = true;
        else if (sawRunning) {
          position += 1;
          return update.value as ExecutionStatus;
        }
      }
      return undefined;
    });
  }

  #waitFor<T>(check: () => T | undefined): Promise<T> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    const now = check();
    if (now !== undefined) return Promise.resolve(now);
    return new Promise<T>((resolve, reject) => {
      const waiter: Waiter = {
        check: () => {
          const value = check();
          if (value === undefined) return false;
          resolve(value);
          return true;
        },
        reject,
      };
      this.#waiters.add(waiter);
    });
  }

  #receive(event: StoredEvent): void {
    if (this.#closed || !this.#events.add(event)) return;
    if (event.kind === 'ConversationStateUpdateEvent' && typeof event.key === 'string') {
      this.#applyStateUpdate(event.key, event.value);
    }
    const typed = this.#events.at(-1) as AnyEvent;
    for (const listener of this.#listeners) {
      try {
        listener(typed);
      } catch (error) {
        (this.#options.onWarning ?? console.warn)(`an onEvent listener threw: ${String(error)}`);
      }
    }
    this.#stream.push(typed);
    for (const waiter of this.#waiters) {
      if (waiter.check()) this.#waiters.delete(waiter);
    }
  }

  #applyStateUpdate(key: string, value: unknown): void {
    const patch: Record<string, unknown> =
      key === 'full_state' && typeof value === 'object' && value !== null
        ? (value as Record<string, unknown>)
        : { [key]: value };
    const next = conversationStateSchema.safeParse({ ...this.#state, ...patch });
    if (next.success) this.#setState(next.data);
  }

  #setState(state: ConversationState): void {
    this.#state = state;
    this.#stateSnapshot = undefined;
  }

  #fail(error: FerryError): void {
    this.#failure = error;
    for (const waiter of this.#waiters) waiter.reject(error);
    this.#waiters.clear();
    (this.#options.onWarning ?? console.warn)(error.message);
  }

  #assertOpen(): void {
    const departure = departures.get(this);
    if (departure !== undefined)
      throw new ConversationTeleportedError(this.id, departure.to, departure.at);
    if (this.#closed) throw new ConversationClosedError(this.id);
  }

  #assertWritable(): void {
    this.#assertOpen();
    const teleport = this.#state.teleport;
    if (teleport !== undefined && teleport !== null) {
      throw new ConversationTeleportedError(this.id, teleport.to, teleport.at);
    }
  }
}

function clientOf(options: RemoteConversationOptions): HttpClient {
  return new HttpClient({
    host: options.host,
    apiKey: options.apiKey,
    timeout: options.timeout ?? 60,
    caller: 'RemoteConversation',
  });
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}
