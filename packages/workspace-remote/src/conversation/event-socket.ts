import { isStoredEvent, type FerryError, type StoredEvent } from '@ferry/sdk-core';
import WebSocket from 'ws';
import { RemoteServerError } from '../errors/remote-server-error';
import { API_KEY_HEADER, FULL_EVENTS_HEADERS } from '../http/http-client';

/** How the events socket reconnects after it drops. */
export interface ReconnectOptions {
  /** Consecutive failed attempts before giving up (default 20). */
  maxAttempts?: number;
  /** Milliseconds before the first retry (default 50); it doubles each time. */
  initialDelay?: number;
  /** Longest wait between two attempts, in milliseconds (default 2000). */
  maxDelay?: number;
}

/** Options of {@link EventSocket}. */
export interface EventSocketOptions {
  host: string;
  apiKey: string | undefined;
  conversationId: string;
  /** The id of the newest event held, to resume after; `undefined` replays everything. */
  cursor: () => string | undefined;
  /** Each event frame, in the server's log order (duplicates possible after a reconnect). */
  onEvent: (event: StoredEvent) => void;
  /**
   * The state snapshot the server sends each new subscriber before any event (a
   * `ConversationStateUpdateEvent` with key `full_state`, which is not part of the log).
   */
  onSnapshot?: (state: Record<string, unknown>) => void;
  /** The socket gave up: the conversation is gone, the key is refused, or retries ran out. */
  onFatal: (error: FerryError) => void;
  /** Told each time a connection is (re-)established. */
  onOpen?: () => void;
  reconnect?: ReconnectOptions;
}

/** Close codes after which reconnecting cannot help. */
const FATAL_CLOSE_CODES = new Map<number, string>([
  [4001, 'the server refused the API key'],
  [4004, 'the conversation does not exist on the server (or was deleted)'],
  [1008, 'the server refused the subscription (an event cursor it does not know)'],
]);

/**
 * The conversation's events WebSocket (`/sockets/events/{id}`), kept open: after a dropped
 * connection it reconnects with backoff and asks for the events after the newest one it has
 * (`after_event_id`), so nothing is missed; the caller drops duplicates by id.
 */
export class EventSocket {
  readonly #options: EventSocketOptions;
  #socket: WebSocket | undefined;
  #closed = false;
  #attempts = 0;
  #timer: NodeJS.Timeout | undefined;
  #connections = 0;
  #firstOpen: { resolve: () => void; reject: (error: unknown) => void } | undefined;

  constructor(options: EventSocketOptions) {
    this.#options = options;
  }

  /** How many times a connection was opened (1 without any reconnect). */
  get connections(): number {
    return this.#connections;
  }

  /** Connects; resolves once the first connection is open. */
  start(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#firstOpen = { resolve, reject };
      this.#connect();
    });
  }

  /** Closes the socket for good. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    const socket = this.#socket;
    this.#socket = undefined;
    if (socket !== undefined && socket.readyState !== WebSocket.CLOSED) socket.terminate();
  }

  #url(): string {
    const base = new URL(this.#options.host);
    base.protocol = base.protocol === 'https:' ? 'wss:' : 'ws:';
    const url = new URL(
      `${base.href.replace(/\/+$/, '')}/sockets/events/${encodeURIComponent(this.#options.conversationId)}`,
    );
    const cursor = this.#options.cursor();
    if (cursor === undefined) url.searchParams.set('resend_mode', 'all');
    else url.searchParams.set('after_event_id', cursor);
    return url.href;
  }

  #connect(): void {
    if (this.#closed) return;
    const headers: Record<string, string> = { ...FULL_EVENTS_HEADERS };
    if (this.#options.apiKey !== undefined) headers[API_KEY_HEADER] = this.#options.apiKey;
    const socket = new WebSocket(this.#url(), { headers, perMessageDeflate: false });
    this.#socket = socket;
    let opened = false;
    socket.on('open', () => {
      opened = true;
      this.#attempts = 0;
      this.#connections += 1;
      this.#firstOpen?.resolve();
      this.#firstOpen = undefined;
      this.#options.onOpen?.();
    });
    socket.on('message', (data: WebSocket.RawData) => {
      if (this.#socket !== socket) return;
      const frame = parse(data);
      const snapshot = stateSnapshot(frame);
      if (snapshot !== undefined) this.#options.onSnapshot?.(snapshot);
      // Frames without an event envelope (e.g. `ServerErrorEvent`) are not part of the log.
      else if (isStoredEvent(frame)) this.#options.onEvent(frame);
    });
    socket.on('error', () => {
      // 'close' follows and decides what happens next.
    });
    socket.on('close', (code: number, reason: Buffer) => {
      if (this.#socket !== socket) return;
      this.#socket = undefined;
      if (this.#closed) return;
      const fatal = FATAL_CLOSE_CODES.get(code);
      if (fatal !== undefined) {
        this.#fail(
          new RemoteServerError(
            `The events socket of conversation ${this.#options.conversationId} was closed (${code} ${reason.toString()}): ${fatal}.`,
            undefined,
            { serverCode: `WEBSOCKET_${code}` },
          ),
        );
        return;
      }
      this.#retry(opened);
    });
  }

  #retry(wasOpen: boolean): void {
    const maxAttempts = this.#options.reconnect?.maxAttempts ?? 20;
    if (!wasOpen) this.#attempts += 1;
    if (this.#attempts >= maxAttempts) {
      this.#fail(
        new RemoteServerError(
          `Lost the events socket of conversation ${this.#options.conversationId} at ${this.#options.host} and could not reconnect after ${maxAttempts} attempts.`,
        ),
      );
      return;
    }
    const initial = this.#options.reconnect?.initialDelay ?? 50;
    const max = this.#options.reconnect?.maxDelay ?? 2_000;
    const delay = wasOpen ? 0 : Math.min(max, initial * 2 ** (this.#attempts - 1));
    this.#timer = setTimeout(() => this.#connect(), delay);
  }

  #fail(error: FerryError): void {
    this.close();
    if (this.#firstOpen !== undefined) {
      this.#firstOpen.reject(error);
      this.#firstOpen = undefined;
      return;
    }
    this.#options.onFatal(error);
  }
}

function parse(data: WebSocket.RawData): unknown {
  const text = Array.isArray(data)
    ? Buffer.concat(data).toString('utf8')
    : Buffer.from(data as ArrayBuffer).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** The state of a `full_state` snapshot frame, or `undefined` for any other frame. */
function stateSnapshot(frame: unknown): Record<string, unknown> | undefined {
  if (typeof frame !== 'object' || frame === null) return undefined;
  const { kind, key, value } = frame as Record<string, unknown>;
  if (kind !== 'ConversationStateUpdateEvent' || key !== 'full_state') return undefined;
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};
}
