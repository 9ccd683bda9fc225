import {
  FerryError,
  type AnyEvent,
  type ConversationStore,
  type MessageContent,
  type ConversationState,
  type StoredEvent,
} from '@ferry/sdk-core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RawData, WebSocket } from 'ws';
import { z } from 'zod';
import type { ApiKeyCheck } from '../auth/api-key-check';
import { API_KEY_HEADER, presentedKey, verifyKey } from '../auth/auth-hook';
import { canonicalConversationId } from '../conversations/conversation-id';
import type { ConversationManager } from '../conversations/conversation-manager';
import type { CloseReason, OpenConversation } from '../conversations/open-conversation';
import { describeError } from '../conversations/open-conversation';
import {
  requestedEventView,
  stateSnapshotEvent,
  viewEvent,
  type EventView,
} from '../http/event-view';
import { isoDateTimeQuerySchema, parseQueryDateTime } from '../schemas/common-schemas';
import { serverErrors } from '../errors/http-status';
import { sendMessageRequestSchema } from '../schemas/conversation-schemas';

/** Close codes of the events socket. */
export const SocketCloseCode = {
  /** The server is shutting down. */
  goingAway: 1001,
  /** A query parameter is invalid (e.g. an unknown `after_event_id`). */
  policyViolation: 1008,
  /** The conversation could not be opened (e.g. locked by another process). */
  internalError: 1011,
  /** No valid API key (header, `session_api_key` query parameter or first frame). */
  unauthorized: 4001,
  /** Unknown conversation, or it was deleted. */
  notFound: 4004,
  /** The subscriber reads too slowly; it was dropped so the run is never held back. */
  tooSlow: 4008,
  /** Too many wrong API keys from this client; the reason says when to try again. */
  rateLimited: 4029,
} as const;

/** Options of {@link eventSocketRoutes}. */
export interface EventSocketOptions {
  manager: ConversationManager;
  apiKeys: ApiKeyCheck;
  /** Bytes a subscriber may leave unread before it is dropped with 4008. */
  maxBufferedBytes: number;
  /** Milliseconds to wait for a first-frame `{"type":"auth"}` when no key came with the upgrade. */
  authTimeoutMs: number;
}

const eventSocketQuerySchema = z.object({
  session_api_key: z.string().optional(),
  resend_mode: z.enum(['all', 'since']).optional(),
  resend_all: z.enum(['true', 'false', '1', '0']).optional(),
  after_timestamp: isoDateTimeQuerySchema.optional(),
  after_event_id: z.string().optional(),
});
type EventSocketQuery = z.infer<typeof eventSocketQuerySchema>;

const authFrameSchema = z.object({ type: z.literal('auth'), session_api_key: z.string() });

/** Events received during a replay before the subscriber is dropped as too slow. */
const MAX_QUEUED_EVENTS = 10_000;
/** Client frames kept while the subscription is being set up. */
const MAX_EARLY_FRAMES = 100;
/** How long a dropped subscriber gets to read its close frame before the socket is cut. */
const TERMINATE_AFTER_MS = 10_000;

/** The text of a WebSocket frame, whichever form `ws` delivered it in. */
export function frameText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  if (data instanceof ArrayBuffer) return Buffer.from(data).toString('utf8');
  return data.toString('utf8');
}

/** Whether `event` records a run ending (the status leaving `running`). */
function endsRun(event: StoredEvent): boolean {
  return (
    event.kind === 'ConversationStateUpdateEvent' &&
    event.key === 'execution_status' &&
    event.value !== 'running'
  );
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * One subscriber of `/sockets/events/{conversation_id}`: authenticates, replays past events from
 * the requested cursor, then forwards every new event as one JSON frame (the event as stored).
 */
class EventSocketSession {
  readonly #socket: WebSocket;
  readonly #request: FastifyRequest;
  readonly #options: EventSocketOptions;
  readonly #conversationId: string;
  #query: EventSocketQuery = {};
  readonly #view: EventView;
  #authWaiter: ((frame: unknown) => void) | undefined;
  #entry: OpenConversation | undefined;
  /** Sends a client's message and runs; set once the subscription is ready. */
  #sender: ((content: MessageContent[]) => Promise<void>) | undefined;
  /** The API key the client authenticated with, for the requests its frames become. */
  #key: string | undefined;
  #cleanups: (() => void)[] = [];
  #queue: AnyEvent[] | undefined = [];
  /** Client frames that came before the subscription was ready. */
  #earlyFrames: unknown[] | undefined = [];
  #replayStart = 0;
  /** A run ended while the replay was going: its snapshot follows the replay. */
  #snapshotDue = false;
  #replayEnd = 0;
  #closed = false;
  /** Stops the local watch (a cluster replica's subscriber needs it only to find its place). */
  #unwatch: (() => void) | undefined;
  /** A cluster replica's subscriber: the log's length when it connected. */
  #connectedAt: Promise<number | undefined> | undefined;

  constructor(socket: WebSocket, request: FastifyRequest, options: EventSocketOptions) {
    this.#socket = socket;
    this.#request = request;
    this.#options = options;
    this.#conversationId = (request.params as { conversation_id: string }).conversation_id;
    this.#view = requestedEventView(request);
  }

  start(): void {
    // The subscriber's place in the log is the moment it connects: events appended while it
    // authenticates and the conversation is opened are queued (and dropped if it is refused),
    // so none falls between the replay and the live stream.
    // A cluster replica's subscriber follows the shared store instead (see #runFromStore): its
    // place is the log's length when it connects.
    const id = canonicalConversationId(this.#conversationId);
    const shared = this.#options.manager.clusterStore;
    if (id !== undefined) {
      // In a cluster this sees the events this replica appends (a run here), at once.
      const unwatch = this.#options.manager.watch(id, (event) => this.#onLive(event));
      this.#unwatch = unwatch;
      this.#cleanups.push(unwatch);
    }
    if (id !== undefined && shared !== undefined) {
      this.#connectedAt = shared.eventCount(id).catch(() => undefined);
    }
    // Listeners go on at once: frames sent right after the handshake must not be missed.
    this.#socket.on('message', (data) => this.#onFrame(frameText(data)));
    this.#socket.on('close', () => this.#dispose());
    this.#socket.on('error', (error) => {
      this.#request.log.debug({ err: describeError(error) }, 'event socket error');
    });
    void this.#run().catch((error: unknown) => {
      this.#request.log.warn({ err: describeError(error) }, 'event socket failed');
      this.#close(SocketCloseCode.internalError, 'server error');
    });
  }

  async #run(): Promise<void> {
    const query = eventSocketQuerySchema.safeParse(this.#request.query);
    if (!query.success) {
      this.#close(SocketCloseCode.policyViolation, 'invalid query parameters');
      return;
    }
    this.#query = query.data;
    const verdict = await this.#authenticate();
    if (verdict.outcome === 'rateLimited') {
      this.#close(
        SocketCloseCode.rateLimited,
        `Too many wrong API keys: retry in ${verdict.retryAfter} s`,
      );
      return;
    }
    if (verdict.outcome === 'refused') {
      this.#close(SocketCloseCode.unauthorized, 'Authentication failed');
      return;
    }
    const id = canonicalConversationId(this.#conversationId);
    const record = id === undefined ? undefined : await this.#options.manager.find(id);
    if (id === undefined || record === undefined) {
      this.#close(SocketCloseCode.notFound, 'Conversation not found');
      return;
    }
    const shared = this.#options.manager.clusterStore;
    if (shared !== undefined) {
      await this.#runFromStore(id, shared, record.state);
      return;
    }
    let entry: OpenConversation;
    try {
      entry = await this.#options.manager.acquire(id);
    } catch (error) {
      this.#request.log.warn(
        { err: describeError(error) },
        'event socket cannot open conversation',
      );
      this.#close(SocketCloseCode.internalError, 'conversation unavailable');
      return;
    }
    if (this.#closed) {
      this.#options.manager.release(entry);
      return;
    }
    this.#entry = entry;
    // The replay's end is taken in one tick with the queue of events seen since connecting:
    // every event is either in the replayed range or arrives live after it.
    entry.subscribers += 1;
    this.#cleanups.push(() => {
      entry.subscribers -= 1;
    });
    this.#cleanups.push(entry.onClose((reason) => this.#onConversationClosed(reason)));
    // As OpenHands: the state again once a run has ended (its Python client waits for it).
    this.#cleanups.push(entry.onSettled(() => this.#onSettled(entry)));
    // Only what is replayed is read: a conversation resumed with its live context keeps its
    // history on disk, and a client seeded with it asks for what came after.
    const events = entry.conversation.events;
    this.#replayEnd = events.length;
    const start = this.#firstToReplay(
      () => events.raw(),
      (eventId) => events.indexOf(eventId),
    );
    if (start === undefined) {
      this.#close(SocketCloseCode.policyViolation, 'unknown after_event_id');
      return;
    }
    this.#replayStart = start;
    // As OpenHands: the state first, then the replay, then live events.
    this.#sendSnapshot(entry);
    await this.#replay(events.raw(start, this.#replayEnd));
    this.#flushQueue(entry);
    if (this.#snapshotDue) this.#sendSnapshot(entry);
    this.#ready(async (content) => {
      await entry.conversation.sendMessage({ content });
      await entry.ensureRunning();
    });
  }

  /**
   * A cluster replica's subscriber: the state snapshot, a replay from the shared store, then its
   * live events, whichever replica runs the conversation; never opens the conversation here. A
   * run that ends is followed by a fresh snapshot, as on a single server. A message frame
   * becomes a `POST .../events` on this server, which sends it to the runner.
   */
  async #runFromStore(
    id: string,
    store: ConversationStore,
    state: ConversationState,
  ): Promise<void> {
    const connectedAt = await this.#connectedAt;
    const stored = await store.readEvents(id);
    this.#replayEnd = stored.length;
    const start = this.#firstToReplay(
      () => stored,
      (eventId) => stored.findIndex((event) => event.id === eventId),
      connectedAt,
    );
    // From here on the shared store's subscription delivers what comes after the replay.
    this.#unwatch?.();
    this.#queue = undefined;
    if (start === undefined) {
      this.#close(SocketCloseCode.policyViolation, 'unknown after_event_id');
      return;
    }
    this.#sendState(state);
    await this.#replay(stored.slice(start, this.#replayEnd));
    if (this.#closed) return;
    const subscription = await store.subscribe(id, {
      from: stored.length,
      onEvents: (batch) => {
        for (const event of batch.events) {
          this.#sendLive(event);
          if (endsRun(event)) void this.#resendStoredState(id);
        }
      },
      onError: (error) => {
        this.#request.log.warn({ err: describeError(error) }, 'event feed lost');
        this.#close(SocketCloseCode.goingAway, 'event feed lost; reconnect');
      },
      // Deleted through any replica: the database announces it to every one. Replaced (an
      // import over it) is not gone: the client reconnects to the new copy.
      onDeleted: ({ replaced }) => {
        if (replaced) this.#close(SocketCloseCode.goingAway, 'conversation replaced');
        else this.#close(SocketCloseCode.notFound, 'Conversation deleted');
      },
    });
    this.#cleanups.push(() => void subscription.close());
    this.#cleanups.push(this.#options.manager.followStore(id));
    if (this.#closed) {
      await subscription.close();
      return;
    }
    // Deleted before the subscription was live: its announcement came too early to be heard.
    if ((await store.readState(id)) === undefined) {
      this.#close(SocketCloseCode.notFound, 'Conversation deleted');
      return;
    }
    this.#ready(async (content) => {
      const response = await this.#request.server.inject({
        method: 'POST',
        url: `/api/conversations/${id}/events`,
        headers: this.#key === undefined ? {} : { [API_KEY_HEADER]: this.#key },
        payload: { role: 'user', content, run: true },
      });
      if (response.statusCode >= 400) {
        const body = parseJson(response.body) as { code?: unknown; detail?: unknown } | undefined;
        throw new FerryError(
          typeof body?.code === 'string' ? body.code : 'ERROR',
          typeof body?.detail === 'string' ? body.detail : `status ${response.statusCode}`,
        );
      }
    });
  }

  async #resendStoredState(id: string): Promise<void> {
    const record = await this.#options.manager.find(id).catch(() => undefined);
    if (record !== undefined) this.#sendState(record.state);
  }

  /** The subscription is live: frames are handled from now on, those that came early first. */
  #ready(sender: (content: MessageContent[]) => Promise<void>): void {
    this.#sender = sender;
    const early = this.#earlyFrames ?? [];
    this.#earlyFrames = undefined;
    for (const frame of early) this.#handleFrame(sender, frame);
  }

  async #authenticate(): Promise<ReturnType<typeof verifyKey>> {
    const check = this.#options.apiKeys;
    if (!check.enabled) return { outcome: 'accepted' };
    const address = this.#request.ip;
    const presented = this.#query.session_api_key ?? presentedKey(this.#request);
    this.#key = presented;
    if (presented !== undefined) return verifyKey(check, address, presented);
    // A limited client is refused before it can send a key in a frame.
    const retryAfter = check.failures.retryAfter(address);
    if (retryAfter !== undefined) return { outcome: 'rateLimited', retryAfter };
    const frame = await new Promise<unknown>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), this.#options.authTimeoutMs);
      this.#authWaiter = (value) => {
        clearTimeout(timer);
        resolve(value);
      };
      this.#cleanups.push(() => {
        clearTimeout(timer);
        resolve(undefined);
      });
    });
    this.#authWaiter = undefined;
    const auth = authFrameSchema.safeParse(frame);
    if (!auth.success) return { outcome: 'refused' };
    this.#key = auth.data.session_api_key;
    return verifyKey(check, address, auth.data.session_api_key);
  }

  /**
   * Index of the first event to replay, or `undefined` for an unknown `after_event_id`. Without
   * a resend mode: the first event appended since the socket connected.
   */
  #firstToReplay(
    stored: () => readonly { timestamp: string }[],
    indexOf: (eventId: string) => number,
    connectedAt?: number,
  ): number | undefined {
    const query = this.#query;
    if (query.after_event_id !== undefined) {
      const index = indexOf(query.after_event_id);
      return index < 0 ? undefined : index + 1;
    }
    const mode =
      query.resend_mode ??
      (query.resend_all === 'true' || query.resend_all === '1' ? 'all' : undefined);
    if (mode === 'all') return 0;
    if (mode === 'since' && query.after_timestamp !== undefined) {
      const after = parseQueryDateTime(query.after_timestamp);
      const index = stored().findIndex((event) => parseQueryDateTime(event.timestamp) >= after);
      return index < 0 ? this.#replayEnd : index;
    }
    // Every event appended since it connected: the first one seen here since then, or (in a
    // cluster, where another replica may append) the log's length when it connected.
    const first = this.#queue?.[0];
    const index = first === undefined ? -1 : indexOf(first.id);
    const seen = index < 0 ? this.#replayEnd : Math.min(index, this.#replayEnd);
    return connectedAt === undefined ? seen : Math.min(seen, connectedAt);
  }

  /** Sends `events`, the range to replay, letting the socket drain when it falls behind. */
  async #replay(events: readonly StoredEvent[]): Promise<void> {
    for (const event of events) {
      if (this.#closed) return;
      const text = JSON.stringify(viewEvent(event, this.#view));
      if (this.#socket.bufferedAmount > this.#options.maxBufferedBytes / 2) {
        // Let the socket drain before sending more: the callback fires once data is written.
        await new Promise<void>((resolve) => this.#socket.send(text, () => resolve()));
      } else {
        this.#socket.send(text);
      }
    }
  }

  #flushQueue(entry: OpenConversation): void {
    const queued = this.#queue ?? [];
    this.#queue = undefined;
    for (const event of queued) {
      // An event in the replayed range was sent there. One before it was appended but not yet
      // announced when the replay was cut (its write was in flight), so it is sent now.
      const index = entry.conversation.events.indexOf(event.id);
      if (index >= this.#replayStart && index < this.#replayEnd) continue;
      this.#sendLive(event);
    }
  }

  #onSettled(entry: OpenConversation): void {
    if (this.#queue !== undefined) this.#snapshotDue = true;
    else this.#sendSnapshot(entry);
  }

  #sendSnapshot(entry: OpenConversation): void {
    this.#snapshotDue = false;
    this.#sendState(entry.conversation.state);
  }

  /** A `ConversationStateUpdateEvent` with key `full_state`, never stored. */
  #sendState(state: ConversationState): void {
    if (this.#closed || this.#socket.readyState !== this.#socket.OPEN) return;
    if (this.#socket.bufferedAmount > this.#options.maxBufferedBytes) {
      this.#dropTooSlow();
      return;
    }
    this.#socket.send(JSON.stringify(stateSnapshotEvent(state, this.#view)));
  }

  #onLive(event: AnyEvent): void {
    if (this.#closed) return;
    if (this.#queue !== undefined) {
      this.#queue.push(event);
      if (this.#queue.length > MAX_QUEUED_EVENTS) this.#dropTooSlow();
      return;
    }
    this.#sendLive(event);
  }

  #sendLive(event: AnyEvent): void {
    if (this.#closed || this.#socket.readyState !== this.#socket.OPEN) return;
    if (this.#socket.bufferedAmount > this.#options.maxBufferedBytes) {
      this.#dropTooSlow();
      return;
    }
    this.#socket.send(JSON.stringify(viewEvent(event, this.#view)));
  }

  #dropTooSlow(): void {
    this.#request.log.warn(
      { conversation_id: this.#conversationId },
      'dropping an events subscriber that reads too slowly',
    );
    this.#close(SocketCloseCode.tooSlow, 'subscriber too slow');
    setTimeout(() => this.#socket.terminate(), TERMINATE_AFTER_MS).unref();
  }

  #onConversationClosed(reason: CloseReason): void {
    if (reason === 'deleted') this.#close(SocketCloseCode.notFound, 'Conversation deleted');
    else if (reason === 'replaced') this.#close(SocketCloseCode.goingAway, 'conversation replaced');
    else this.#close(SocketCloseCode.goingAway, 'server shutting down');
  }

  #onFrame(text: string): void {
    const frame = parseJson(text);
    if (this.#authWaiter !== undefined) {
      this.#authWaiter(frame);
      return;
    }
    if (this.#sender === undefined || this.#earlyFrames !== undefined) {
      this.#earlyFrames?.push(frame);
      if ((this.#earlyFrames?.length ?? 0) > MAX_EARLY_FRAMES) {
        this.#close(SocketCloseCode.policyViolation, 'too many frames before the subscription');
      }
      return;
    }
    this.#handleFrame(this.#sender, frame);
  }

  /** A client frame after authentication: a message to send and run, as on OpenHands' socket. */
  #handleFrame(send: (content: MessageContent[]) => Promise<void>, frame: unknown): void {
    if (authFrameSchema.safeParse(frame).success) return;
    const message = sendMessageRequestSchema.safeParse(frame);
    // Every field of a message has a default, so any JSON object would parse: without content it
    // is junk, and must not append an empty message or start a run.
    if (!message.success || message.data.content.length === 0) {
      this.#sendError(
        'VALIDATION_ERROR',
        'A frame must be a message with content: {"role":"user","content":[{"type":"text","text":"..."}]}.',
      );
      return;
    }
    if (message.data.role !== 'user') {
      const refused = serverErrors.messageRoleNotSupported(message.data.role);
      this.#sendError(refused.code, refused.message);
      return;
    }
    send(message.data.content).catch((error: unknown) => {
      const code = (error as { code?: unknown } | null)?.code;
      this.#sendError(
        typeof code === 'string' ? code : 'ERROR',
        error instanceof Error ? error.message : String(error),
      );
    });
  }

  /** Errors about a client frame; like OpenHands' `ServerErrorEvent`, never stored. */
  #sendError(code: string, detail: string): void {
    if (this.#closed || this.#socket.readyState !== this.#socket.OPEN) return;
    // A client that floods frames but never reads the answers is held to the same bound.
    if (this.#socket.bufferedAmount > this.#options.maxBufferedBytes) {
      this.#dropTooSlow();
      return;
    }
    this.#socket.send(
      JSON.stringify({ kind: 'ServerErrorEvent', source: 'environment', code, detail }),
    );
  }

  #close(code: number, reason: string): void {
    if (
      this.#socket.readyState === this.#socket.OPEN ||
      this.#socket.readyState === this.#socket.CONNECTING
    ) {
      this.#socket.close(code, reason);
    }
    this.#dispose();
  }

  #dispose(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const cleanup of this.#cleanups) cleanup();
    this.#cleanups = [];
    if (this.#entry !== undefined) this.#options.manager.release(this.#entry);
  }
}

/** The WebSocket route `/sockets/events/{conversation_id}` (it authenticates by itself). */
export function eventSocketRoutes(app: FastifyInstance, options: EventSocketOptions): void {
  app.get(
    '/sockets/events/:conversation_id',
    { websocket: true, config: { public: true }, schema: { hide: true } },
    (socket, request) => {
      new EventSocketSession(socket, request, options).start();
    },
  );
}
