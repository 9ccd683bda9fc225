import type { Readable } from 'node:stream';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import {
  StreamableHTTPClientTransport,
  StreamableHTTPError,
} from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { ErrorCode, McpError } from '@modelcontextprotocol/sdk/types.js';
import type { Implementation, Tool } from '@modelcontextprotocol/sdk/types.js';
import { McpServerError } from '../errors/mcp-server-error';
import { isStdioServer, type McpServerConfig } from './mcp-config';
import { mcpToolOutput, type McpToolOutput } from './mcp-tool-result';

/** How much of a stdio server's stderr is kept to explain a failure. */
const STDERR_TAIL_CHARS = 2_000;

/** Replaces secret values in text written by or about a server. */
const SECRET_PLACEHOLDER = '<secret-hidden>';

/** Options of {@link McpServerConnection.open}. */
export interface McpServerConnectionOptions {
  /** The server's name in `mcpServers`. */
  server: string;
  config: McpServerConfig;
  /** How Ferry introduces itself in the MCP handshake. */
  clientInfo: Implementation;
  /** Longest wait for the handshake, in seconds. */
  connectTimeoutSeconds: number;
  /** Aborts the connection attempt. */
  signal?: AbortSignal;
  /** Working directory of a stdio server without its own `cwd`. */
  cwd?: string;
}

/** Options of {@link McpServerConnection.callTool}. */
export interface McpCallOptions {
  /** Aborts the call (the server is sent a cancellation). */
  signal?: AbortSignal;
  /** Longest wait for the result, in seconds. */
  timeoutSeconds: number;
}

/**
 * One live connection to an MCP server: a stdio child process or a streamable HTTP session.
 * The server's secrets (its `env` and `headers` values) are masked in everything it reports.
 */
export class McpServerConnection {
  /** Resolves once the transport has closed (for stdio: the child has exited). */
  readonly closed: Promise<void>;
  readonly #client: Client;
  readonly #transport: Transport;
  readonly #secrets: string[];
  readonly #stderr: StderrTail | undefined;
  #isClosed = false;

  private constructor(
    readonly server: string,
    client: Client,
    transport: Transport,
    secrets: string[],
    stderr: StderrTail | undefined,
  ) {
    this.#client = client;
    this.#transport = transport;
    this.#secrets = secrets;
    this.#stderr = stderr;
    // Set before connecting: the client chains its own handler after this one.
    this.closed = new Promise((resolve) => {
      transport.onclose = () => {
        this.#isClosed = true;
        resolve();
      };
    });
  }

  /**
   * Starts (stdio) or reaches (HTTP) the server and completes the MCP handshake. Any failure
   * is an `McpServerError` naming the server, after the child (if any) has exited.
   */
  static async open(options: McpServerConnectionOptions): Promise<McpServerConnection> {
    const { server, config } = options;
    const secrets = secretValues(config);
    const client = new Client(options.clientInfo);
    let transport: Transport;
    let stderr: StderrTail | undefined;
    if (isStdioServer(config)) {
      const stdio = new ChildProcessTransport({
        command: config.command,
        args: config.args,
        env: config.env,
        cwd: config.cwd ?? options.cwd,
        stderr: 'pipe',
      });
      stderr = new StderrTail(stdio);
      transport = stdio;
    } else {
      transport = new StreamableHTTPClientTransport(new URL(config.url), {
        requestInit: { headers: config.headers },
      });
    }
    const connection = new McpServerConnection(server, client, transport, secrets, stderr);
    try {
      await client.connect(transport, {
        signal: options.signal,
        timeout: options.connectTimeoutSeconds * 1000,
      });
      return connection;
    } catch (error) {
      await connection.#abandon();
      throw await connection.#connectError(error, options);
    }
  }

  /** Every tool the server offers (all pages). */
  async listTools(signal?: AbortSignal): Promise<Tool[]> {
    const tools: Tool[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.#client.listTools(cursor === undefined ? undefined : { cursor }, {
        signal,
      });
      tools.push(...page.tools);
      cursor = page.nextCursor;
    } while (cursor !== undefined);
    return tools;
  }

  /**
   * Calls a tool and returns its result as text. A failure the LLM can act on (an unknown
   * tool, invalid arguments, a timeout, a server that went away) is an error result; an abort
   * is thrown.
   */
  async callTool(
    name: string,
    args: Record<string, unknown>,
    options: McpCallOptions,
  ): Promise<McpToolOutput> {
    try {
      const result = await this.#client.callTool({ name, arguments: args }, undefined, {
        signal: options.signal,
        timeout: options.timeoutSeconds * 1000,
      });
      const output = mcpToolOutput(result);
      return {
        ...output,
        content: output.content.map((part) => ({ ...part, text: this.mask(part.text) })),
      };
    } catch (error) {
      if (options.signal?.aborted) throw error;
      return {
        content: [{ type: 'text', text: this.mask(this.#callErrorText(name, error, options)) }],
        isError: true,
      };
    }
  }

  /** Replaces this server's secret values in `text`. */
  mask(text: string): string {
    let masked = text;
    for (const secret of this.#secrets) masked = masked.split(secret).join(SECRET_PLACEHOLDER);
    return masked;
  }

  /** Ends the session; for stdio, resolves once the child has exited. */
  async close(): Promise<void> {
    await this.#client.close();
    if (this.#stderr !== undefined) await this.closed;
  }

  /** Closes after a failed handshake; a child that is still running is terminated. */
  async #abandon(): Promise<void> {
    const pid = this.#transport instanceof ChildProcessTransport ? this.#transport.childPid : null;
    if (pid !== null && !this.#isClosed) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // Already gone.
      }
    }
    await this.close();
  }

  async #connectError(
    error: unknown,
    options: McpServerConnectionOptions,
  ): Promise<McpServerError> {
    const { server, config } = options;
    const message = describeError(error);
    if (options.signal?.aborted) {
      return new McpServerError(server, 'aborted', '', { cause: error });
    }
    if (isSpawnError(error) && isStdioServer(config)) {
      const detail =
        error.code === 'ENOENT'
          ? `command "${config.command}" not found`
          : error.code === 'EACCES'
            ? `command "${config.command}" is not executable`
            : message;
      return new McpServerError(server, 'start_failed', this.mask(detail), { cause: error });
    }
    if (hasMcpCode(error, ErrorCode.RequestTimeout)) {
      return new McpServerError(
        server,
        'timeout',
        `no answer within ${options.connectTimeoutSeconds} seconds${await this.#stderrSuffix()}`,
        { cause: error },
      );
    }
    return new McpServerError(
      server,
      'handshake_failed',
      this.mask(`${message}${await this.#stderrSuffix()}`),
      { cause: error },
    );
  }

  #callErrorText(name: string, error: unknown, options: McpCallOptions): string {
    if (hasMcpCode(error, ErrorCode.RequestTimeout)) {
      return `The MCP tool "${name}" of server "${this.server}" did not answer within ${options.timeoutSeconds} seconds.`;
    }
    if (hasMcpCode(error, ErrorCode.ConnectionClosed)) {
      return `MCP server "${this.server}" closed the connection during "${name}"${this.#stderr?.suffix() ?? ''}`;
    }
    return `The MCP tool "${name}" of server "${this.server}" failed: ${describeError(error)}`;
  }

  /** The end of the server's stderr, once it has all arrived, for an error message. */
  async #stderrSuffix(): Promise<string> {
    if (this.#stderr === undefined) return '';
    await this.closed;
    await this.#stderr.ended;
    return this.mask(this.#stderr.suffix());
  }
}

/**
 * The stdio transport, remembering the child's pid: the client forgets it as soon as it starts
 * closing, and a child that did not finish its handshake is terminated rather than waited for.
 */
class ChildProcessTransport extends StdioClientTransport {
  childPid: number | null = null;

  override async start(): Promise<void> {
    await super.start();
    this.childPid = this.pid;
  }
}

/** Keeps the end of a stdio server's stderr (read continuously, so the child never blocks). */
class StderrTail {
  /** Resolves when the child's stderr has ended. */
  readonly ended: Promise<void>;
  #text = '';

  constructor(transport: StdioClientTransport) {
    // A PassThrough, available before the child starts, when `stderr: 'pipe'` is set.
    const stream = transport.stderr as Readable | null;
    if (stream === null) {
      this.ended = Promise.resolve();
      return;
    }
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      this.#text = (this.#text + chunk).slice(-STDERR_TAIL_CHARS);
    });
    this.ended = new Promise((resolve) => {
      stream.once('end', resolve);
      stream.once('close', resolve);
    });
  }

  /** `. Its stderr ends with: ...`, or nothing when it wrote none. */
  suffix(): string {
    const text = this.#text.trim();
    return text === '' ? '' : `. Its stderr ends with:\n${text}`;
  }
}

/** The values of a server's `env` and `headers`: secrets never to show. */
function secretValues(config: McpServerConfig): string[] {
  const values = Object.values(isStdioServer(config) ? config.env : config.headers);
  return [...new Set(values.filter((value) => value.length > 0))].sort(
    (a, b) => b.length - a.length,
  );
}

interface SpawnError extends Error {
  code: string;
  syscall: string;
}

function isSpawnError(error: unknown): error is SpawnError {
  return (
    error instanceof Error &&
    typeof (error as Partial<SpawnError>).syscall === 'string' &&
    (error as SpawnError).syscall.startsWith('spawn') &&
    typeof (error as Partial<SpawnError>).code === 'string'
  );
}

/**
 * An error's message with the HTTP status or the code of its cause (e.g.
 * `fetch failed (ECONNREFUSED)`).
 */
function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (error instanceof StreamableHTTPError && error.code !== undefined) {
    return `HTTP ${error.code}: ${error.message}`;
  }
  const cause = error.cause as { code?: unknown } | undefined;
  return typeof cause?.code === 'string' ? `${error.message} (${cause.code})` : error.message;
}

/** True for an MCP protocol error with that code (e.g. a request timeout). */
function hasMcpCode(error: unknown, code: ErrorCode): boolean {
  return error instanceof McpError && error.code === (code as number);
}
