import type { Agent } from '../agent/agent-schema';
import { McpToolProvider } from '../mcp/mcp-tool-provider';
import type { ToolDefinition } from '../tool/tool-definition';

/**
 * The tools of a conversation's MCP servers, connected lazily on the first run and again when
 * the agent's `mcp_config` or tool filter changes.
 */
export class McpToolCache {
  #mcp: { key: string; provider: McpToolProvider } | undefined;

  /** The tools of `agent`'s MCP servers (none without servers), started in `cwd`. */
  async tools(agent: Agent, cwd: string): Promise<ToolDefinition[]> {
    const servers = (agent.mcp_config as { mcpServers?: Record<string, unknown> }).mcpServers;
    if (servers === undefined || Object.keys(servers).length === 0) {
      await this.close();
      return [];
    }
    const key = JSON.stringify([agent.mcp_config, agent.filter_tools_regex ?? null]);
    if (this.#mcp?.key !== key) {
      await this.close();
      this.#mcp = {
        key,
        provider: new McpToolProvider({
          config: agent.mcp_config,
          ...(agent.filter_tools_regex ? { filter: agent.filter_tools_regex } : {}),
          cwd,
        }),
      };
    }
    return this.#mcp.provider.tools();
  }

  /** Stops the servers (they start again on the next `tools()`). */
  async close(): Promise<void> {
    const mcp = this.#mcp;
    this.#mcp = undefined;
    await mcp?.provider.close();
  }
}
