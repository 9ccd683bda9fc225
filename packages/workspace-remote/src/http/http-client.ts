import type { FerryError } from '@ferry/sdk-core';
import { RemoteServerError } from '../errors/remote-server-error';
import { errorFromResponse } from './error-from-response';

/** The header Ferry and OpenHands servers read the API key from. */
export const API_KEY_HEADER = 'X-Session-API-Key';

/**
 * Asks a Ferry server for events exactly as stored (its OpenHands routes otherwise leave out the
 * fields OpenHands' models forbid, which Ferry's own clients want to keep).
 */
export const FULL_EVENTS_HEADERS: Readonly<Record<string, string>> = { 'X-Ferry-Events': 'full' };

/** Options of {@link HttpClient}. */
export interface HttpClientOptions {
  /** Base URL of the server: `http(s)://host[:port]`. */
  host: string;
  apiKey?: string | undefined;
  /** Seconds a request may take unless it says otherwise. */
  timeout: number;
  /** Names the caller in error messages (`RemoteWorkspace`, `RemoteConversation`). */
  caller: string;
}

/** One request. `json` is sent as the JSON body; `body` as is. */
export interface HttpRequest {
  method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  json?: unknown;
  body?: RequestInit['body'];
  headers?: Record<string, string>;
  /** Seconds; `null` for no limit (long uploads and downloads). */
  timeout?: number | null;
  signal?: AbortSignal | undefined;
  /** Fills in typed errors (see `errorFromResponse`). */
  context?: { conversationId?: string; path?: string; operation?: string };
  /** `duplex: 'half'` is needed to stream a request body with fetch. */
  streamBody?: boolean;
}

/** Checks that `host` is an http(s) URL and returns its origin (no trailing slash). */
export function parseHost(host: string, caller: string): string {
  const url = URL.canParse(host) ? new URL(host) : undefined;
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    throw new RemoteServerError(
      `${caller}: host "${host}" is not an http(s) URL; pass e.g. "http://127.0.0.1:8000".`,
    );
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/** A small fetch wrapper: the API key header, timeouts, and typed errors for non-2xx answers. */
export class HttpClient {
  readonly host: string;
  readonly #apiKey: string | undefined;
  readonly #timeout: number;

  constructor(options: HttpClientOptions) {
    this.host = parseHost(options.host, options.caller);
    this.#apiKey = options.apiKey;
    this.#timeout = options.timeout;
  }

  /** The API key, for the WebSocket's first frame. */
  get apiKey(): string | undefined {
    return this.#apiKey;
  }

  /** The URL of `path` with `query`. */
  url(path: string, query: HttpRequest['query'] = {}): URL {
    const url = new URL(`${this.host}${path}`);
    for (const [name, value] of Object.entries(query)) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    return url;
  }

  /** Sends the request and returns the response once its status is 2xx. */
  async send(request: HttpRequest): Promise<Response> {
    const method = request.method ?? 'GET';
    const what = `${method} ${request.path}`;
    const headers: Record<string, string> = {
      accept: 'application/json',
      ...FULL_EVENTS_HEADERS,
      ...request.headers,
    };
    if (this.#apiKey !== undefined) headers[API_KEY_HEADER] = this.#apiKey;
    let body = request.body;
    if (request.json !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(request.json);
    }
    const timeout = request.timeout === undefined ? this.#timeout : request.timeout;
    const signals = [
      request.signal,
      timeout === null ? undefined : AbortSignal.timeout(timeout * 1000),
    ].filter((signal) => signal !== undefined);
    let response: Response;
    try {
      response = await fetch(this.url(request.path, request.query), {
        method,
        headers,
        ...(body === undefined ? {} : { body }),
        ...(request.streamBody === true ? { duplex: 'half' } : {}),
        ...(signals.length === 0 ? {} : { signal: AbortSignal.any(signals) }),
      });
    } catch (cause) {
      if (request.signal?.aborted === true) throw request.signal.reason;
      throw new RemoteServerError(
        `Cannot reach Ferry server at ${this.host} (${what}): ${describeCause(cause)}`,
        undefined,
        { cause },
      );
    }
    if (!response.ok) throw await this.#error(response, what, request);
    return response;
  }

  /** Sends the request and parses the JSON answer. */
  async json(request: HttpRequest): Promise<unknown> {
    const response = await this.send(request);
    const body = await response.text();
    if (body === '') return undefined;
    try {
      return JSON.parse(body) as unknown;
    } catch (cause) {
      throw new RemoteServerError(
        `Ferry server at ${this.host} answered ${request.method ?? 'GET'} ${request.path} with a body that is not JSON`,
        response.status,
        { cause },
      );
    }
  }

  async #error(response: Response, what: string, request: HttpRequest): Promise<FerryError> {
    const raw = await response.text().catch(() => '');
    let body: unknown = raw;
    try {
      body = JSON.parse(raw) as unknown;
    } catch {
      body = { detail: raw.slice(0, 500) };
    }
    return errorFromResponse({
      status: response.status,
      body,
      what,
      host: this.host,
      ...(request.context === undefined ? {} : { context: request.context }),
    });
  }
}

function describeCause(cause: unknown): string {
  if (cause instanceof Error) {
    const inner = cause.cause instanceof Error ? `: ${cause.cause.message}` : '';
    return `${cause.name === 'TimeoutError' ? 'timed out' : cause.message}${inner}`;
  }
  return String(cause);
}
