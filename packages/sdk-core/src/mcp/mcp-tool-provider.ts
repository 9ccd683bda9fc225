import type { Implementation, Tool } from '@modelcontextprotocol/sdk/types.js';
import { McpServerError } from '../errors/mcp-server-error';
import { defineTool, type ToolDefinition } from '../tool/tool-definition';
import { parseMcpConfig, type McpServerConfig } from './mcp-config';
import { mcpParametersSchema } from './mcp-input-schema';
import { McpServerConnection } from './mcp-server-connection';
import { mcpToolName, withHash } from './mcp-tool-name';

/** Kind of the action document of an MCP tool call (as OpenHands). */
export const MCP_TOOL_ACTION_KIND = 'MCPToolAction';
/** Kind of the observation document of an MCP tool result (as OpenHands). */
export const MCP_TOOL_OBSERVATION_KIND = 'MCPToolObservation';
/** Default longest wait for a server's handshake, in seconds. */
export const DEFAULT_MCP_CONNECT_TIMEOUT_SECONDS = 30;
/** Default longest wait for an MCP tool's result, in seconds. */
export const DEFAULT_MCP_TOOL_TIMEOUT_SECONDS = 300;

const DEFAULT_CLIENT_INFO: Implementation = { name: 'ferry', version: '0.0.0' };

/** Options of {@link McpToolProvider}. */
export interface McpToolProviderOptions {
  /** The agent's `mcp_config`: `{ mcpServers: { <name>: { command, args, env } | { url, headers } } }`. */
  config: unknown;
  /**
   * Keeps only the tools whose name-spaced name (`<server>__<tool>`) matches: the agent's
   * `filter_tools_regex`. Absent, `null` or empty: every tool.
   */
  filter?: RegExp | string | null;
  /** How Ferry introduces itself to the servers; `{ name: 'ferry', ... }` by default. */
  clientInfo?: Implementation;
  /** Aborts connecting (a pending `tools()` rejects with `McpServerError` `aborted`). */
  signal?: AbortSignal;
  /** Longest wait for each server's handshake, in seconds (default 30). */
  connectTimeoutSeconds?: number;
  /** Longest wait for a tool's result, in seconds (default 300). */
  toolTimeoutSeconds?: number;
  /** Working directory of stdio servers without their own `cwd`, e.g. the workspace's. */
  cwd?: string;
}

/** An MCP tool as offered to the agent, with where it comes from. */
interface McpToolSource {
  server: string;
  config: McpServerConfig;
  tool: Tool;
}

/**
 * The tools of the MCP servers in an agent's `mcp_config`, as Ferry `ToolDefinition`s.
 *
 * Connections are opened lazily: the first `tools()` starts every stdio server and reaches
 * every streamable HTTP one, lists their tools and returns them name-spaced as
 * `<server>__<tool>`, filtered by `filter`. A server that fails is an `McpServerError` naming
 * it (and nothing is left running). A server that goes away later is reconnected on the next
 * call of one of its tools. `close()` ends every session and waits for every child to exit;
 * the provider cannot be used after it.
 *
 * ```ts
 * const mcp = await McpToolProvider.connect({ config: agent.mcp_config, filter: agent.filter_tools_regex });
 * const conversation = await LocalConversation.open({ agent, workspace, tools: await mcp.tools() });
 * // ...
 * await mcp.close();
 * ```
 */
export class McpToolProvider implements AsyncDisposable {
  /** The servers of the config, in order. */
  readonly serverNames: readonly string[];
  readonly #servers: Map<string, McpServerConfig>;
  readonly #options: McpToolProviderOptions;
  readonly #filter: RegExp | undefined;
  readonly #connections = new Map<string, Promise<McpServerConnection>>();
  #tools: Promise<ToolDefinition[]> | undefined;
  #closed = false;

  /**
   * Validates the config (a malformed server entry is an `McpServerError` `invalid_config`)
   * without connecting to anything.
   */
  constructor(options: McpToolProviderOptions) {
    this.#options = options;
    this.#servers = parseMcpConfig(options.config);
    this.serverNames = [...this.#servers.keys()];
    this.#filter = toRegExp(options.filter);
  }

  /** A provider that has connected to every server and listed their tools. */
  static async connect(options: McpToolProviderOptions): Promise<McpToolProvider> {
    const provider = new McpToolProvider(options);
    await provider.tools();
    return provider;
  }

  /**
   * The servers' tools (filtered), connecting on first use. Listed once; later calls return
   * the same definitions. Rejects with the `McpServerError` of the first server (in config
   * order) that failed, after closing the others; a later call tries again.
   */
  tools(): Promise<ToolDefinition[]> {
    this.#tools ??= this.#listTools().catch(async (error: unknown) => {
      this.#tools = undefined;
      await this.#closeConnections();
      throw error;
    });
    return this.#tools;
  }

  /** Ends every session; resolves once every stdio server has exited. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#tools = undefined;
    await this.#closeConnections();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #listTools(): Promise<ToolDefinition[]> {
    const listed = await Promise.allSettled(
      [...this.#servers].map(async ([server, config]) => {
        const connection = await this.#connection(server, config);
        try {
          const tools = await connection.listTools(this.#options.signal);
          return tools.map((tool): McpToolSource => ({ server, config, tool }));
        } catch (error) {
          if (this.#options.signal?.aborted) {
            throw new McpServerError(server, 'aborted', '', { cause: error });
          }
          throw new McpServerError(
            server,
            'list_tools_failed',
            connection.mask(error instanceof Error ? error.message : String(error)),
            { cause: error },
          );
        }
      }),
    );
    const failure = listed.find((result) => result.status === 'rejected');
    if (failure !== undefined) throw failure.reason;

    const taken = new Set<string>();
    const definitions: ToolDefinition[] = [];
    for (const result of listed) {
      if (result.status !== 'fulfilled') continue;
      for (const source of result.value) {
        let name = mcpToolName(source.server, source.tool.name);
        // Two names that differ only in characters the sanitising replaced.
        if (taken.has(name)) name = withHash(name, `${source.server}\u0000${source.tool.name}`);
        taken.add(name);
        if (this.#filter === undefined || this.#filter.test(name)) {
          definitions.push(this.#definition(name, source));
        }
      }
    }
    return definitions;
  }

  #definition(name: string, { server, config, tool }: McpToolSource): ToolDefinition {
    return defineTool({
      name,
      description:
        tool.description || tool.title || `The "${tool.name}" tool of MCP server "${server}".`,
      parameters: mcpParametersSchema(tool.inputSchema),
      actionKind: MCP_TOOL_ACTION_KIND,
      observationKind: MCP_TOOL_OBSERVATION_KIND,
      execute: async (args: Record<string, unknown>, context) => {
        const connection = await this.#connection(server, config);
        const output = await connection.callTool(tool.name, args, {
          signal: context.signal,
          timeoutSeconds: this.#options.toolTimeoutSeconds ?? DEFAULT_MCP_TOOL_TIMEOUT_SECONDS,
        });
        return {
          content: output.content,
          isError: output.isError,
          fields: { tool_name: tool.name, server },
        };
      },
    });
  }

  /** The server's live connection, opening it if there is none (or the last one went away). */
  #connection(server: string, config: McpServerConfig): Promise<McpServerConnection> {
    if (this.#closed) return Promise.reject(new McpServerError(server, 'closed', ''));
    const existing = this.#connections.get(server);
    if (existing !== undefined) return existing;
    const opening = McpServerConnection.open({
      server,
      config,
      clientInfo: this.#options.clientInfo ?? DEFAULT_CLIENT_INFO,
      connectTimeoutSeconds:
        this.#options.connectTimeoutSeconds ?? DEFAULT_MCP_CONNECT_TIMEOUT_SECONDS,
      signal: this.#options.signal,
      cwd: this.#options.cwd,
    });
    this.#connections.set(server, opening);
    void opening.then(
      (connection) =>
        connection.closed.then(() => {
          if (this.#connections.get(server) === opening) this.#connections.delete(server);
        }),
      () => {
        if (this.#connections.get(server) === opening) this.#connections.delete(server);
      },
    );
    return opening;
  }

  async #closeConnections(): Promise<void> {
    const connections = [...this.#connections.values()];
    this.#connections.clear();
    await Promise.all(
      connections.map(async (opening) => {
        const connection = await opening.catch(() => undefined);
        await connection?.close();
      }),
    );
  }
}

/** A `RegExp` without the `g`/`y` flags, whose `test()` would otherwise carry state. */
function toRegExp(filter: RegExp | string | null | undefined): RegExp | undefined {
  if (filter === undefined || filter === null || filter === '') return undefined;
  if (typeof filter === 'string') return new RegExp(filter);
  return new RegExp(filter.source, filter.flags.replace(/[gy]/g, ''));
}
