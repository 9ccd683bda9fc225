import { z } from 'zod';
import { McpServerError } from '../errors/mcp-server-error';

/** An MCP server Ferry starts as a child process and talks to over stdio. */
export const mcpStdioServerSchema = z.looseObject({
  command: z.string().min(1),
  args: z.array(z.string()).default([]),
  /** Extra environment of the child; the values are secrets, given to the child only. */
  env: z.record(z.string(), z.string()).default({}),
  /** Working directory of the child; the provider's `cwd` option, else Ferry's own, when absent. */
  cwd: z.string().optional(),
});
export type McpStdioServer = z.infer<typeof mcpStdioServerSchema>;

/** A remote MCP server reached over streamable HTTP. */
export const mcpRemoteServerSchema = z.looseObject({
  url: z.url(),
  /** Headers of every request (e.g. `Authorization`); the values are secrets. */
  headers: z.record(z.string(), z.string()).default({}),
  /** Only streamable HTTP is supported; `http` and `streamable-http` both name it. */
  transport: z.enum(['http', 'streamable-http']).optional(),
});
export type McpRemoteServer = z.infer<typeof mcpRemoteServerSchema>;

/** One entry of `mcpServers`: a stdio server (with `command`) or a remote one (with `url`). */
export const mcpServerConfigSchema = z.union([mcpStdioServerSchema, mcpRemoteServerSchema]);
export type McpServerConfig = z.infer<typeof mcpServerConfigSchema>;

/** An agent's `mcp_config` (OpenHands / Claude Desktop format): `{ mcpServers: { <name>: ... } }`. */
export const mcpConfigSchema = z.looseObject({
  mcpServers: z.record(z.string(), z.unknown()).default({}),
});
export type McpConfig = z.infer<typeof mcpConfigSchema>;

/** True for a stdio server entry. */
export function isStdioServer(config: McpServerConfig): config is McpStdioServer {
  return 'command' in config;
}

/**
 * The servers of an `mcp_config`, validated, in the order they are listed. A malformed entry
 * is an `McpServerError` (`invalid_config`) naming it.
 */
export function parseMcpConfig(config: unknown): Map<string, McpServerConfig> {
  const parsed = mcpConfigSchema.safeParse(config ?? {});
  if (!parsed.success) {
    throw new McpServerError('mcpServers', 'invalid_config', z.prettifyError(parsed.error));
  }
  const servers = new Map<string, McpServerConfig>();
  for (const [name, entry] of Object.entries(parsed.data.mcpServers)) {
    servers.set(name, parseServer(name, entry));
  }
  return servers;
}

function parseServer(name: string, entry: unknown): McpServerConfig {
  const record = typeof entry === 'object' && entry !== null ? entry : {};
  if ('command' in record) return parseWith(name, mcpStdioServerSchema, record);
  if ('url' in record) return parseWith(name, mcpRemoteServerSchema, record);
  throw new McpServerError(
    name,
    'invalid_config',
    'an entry needs either `command` (a stdio server) or `url` (a streamable HTTP server)',
  );
}

function parseWith<Schema extends z.ZodType<McpServerConfig>>(
  name: string,
  schema: Schema,
  entry: object,
): McpServerConfig {
  const parsed = schema.safeParse(entry);
  if (parsed.success) return parsed.data;
  // Issue paths and messages only: zod's messages never include the (secret) input values.
  throw new McpServerError(
    name,
    'invalid_config',
    z.prettifyError(parsed.error).replace(/\n/g, ' '),
  );
}
