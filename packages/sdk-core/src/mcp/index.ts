export {
  mcpConfigSchema,
  mcpRemoteServerSchema,
  mcpServerConfigSchema,
  mcpStdioServerSchema,
  parseMcpConfig,
} from './mcp-config';
export type { McpConfig, McpRemoteServer, McpServerConfig, McpStdioServer } from './mcp-config';
export { MCP_TOOL_NAME_MAX_LENGTH, MCP_TOOL_NAME_SEPARATOR, mcpToolName } from './mcp-tool-name';
export {
  DEFAULT_MCP_CONNECT_TIMEOUT_SECONDS,
  DEFAULT_MCP_TOOL_TIMEOUT_SECONDS,
  MCP_TOOL_ACTION_KIND,
  MCP_TOOL_OBSERVATION_KIND,
  McpToolProvider,
} from './mcp-tool-provider';
export type { McpToolProviderOptions } from './mcp-tool-provider';
