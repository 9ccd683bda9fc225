import { FerryError } from '@ferry/sdk-core';

/** Options of {@link RemoteWorkspace}. */
export interface RemoteWorkspaceOptions {
  /** Base URL of a Ferry server, e.g. `http://127.0.0.1:8000`. */
  host: string;
  /** Sent as `X-Session-API-Key`. */
  apiKey?: string;
  /** The folder on the server the agent works in. */
  workingDir: string;
  /** Per-request timeout in seconds (default 30). */
  timeout?: number;
}

/** A Ferry server's `/server_info` answer. */
export interface RemoteServerInfo {
  name: string;
  version: string;
  uptime: number;
  started_at: string;
}

/** The server answered with an HTTP error or could not be reached. */
export class RemoteServerError extends FerryError {
  constructor(
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super('REMOTE_SERVER_ERROR', message, options);
  }
}

/** A workspace on a Ferry server, reached over its HTTP API. */
export class RemoteWorkspace {
  readonly kind = 'RemoteWorkspace';
  readonly host: string;
  readonly workingDir: string;
  readonly #apiKey: string | undefined;
  readonly #timeoutSeconds: number;

  constructor(options: RemoteWorkspaceOptions) {
    const url = URL.canParse(options.host) ? new URL(options.host) : undefined;
    if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
      throw new RemoteServerError(
        `RemoteWorkspace: host "${options.host}" is not an http(s) URL; pass e.g. "http://127.0.0.1:8000".`,
      );
    }
    this.host = url.origin;
    this.workingDir = options.workingDir;
    this.#apiKey = options.apiKey;
    this.#timeoutSeconds = options.timeout ?? 30;
  }

  /** Asks the server who it is; fails with {@link RemoteServerError} when it cannot. */
  async serverInfo(): Promise<RemoteServerInfo> {
    return (await this.#request('/server_info')) as RemoteServerInfo;
  }

  async #request(path: string): Promise<unknown> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.#apiKey !== undefined) headers['X-Session-API-Key'] = this.#apiKey;
    let response: Response;
    try {
      response = await fetch(`${this.host}${path}`, {
        headers,
        signal: AbortSignal.timeout(this.#timeoutSeconds * 1000),
      });
    } catch (cause) {
      throw new RemoteServerError(
        `Cannot reach Ferry server at ${this.host}: ${String(cause)}`,
        undefined,
        {
          cause,
        },
      );
    }
    if (!response.ok) {
      throw new RemoteServerError(
        `Ferry server at ${this.host} answered ${response.status} for ${path}: ${await response.text()}`,
        response.status,
      );
    }
    return response.json();
  }
}
