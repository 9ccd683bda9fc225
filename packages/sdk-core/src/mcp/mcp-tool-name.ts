import { createHash } from 'node:crypto';

/** Longest tool name the LLM providers accept. */
export const MCP_TOOL_NAME_MAX_LENGTH = 64;

/** Separates the server name from the tool name in a name-spaced MCP tool name. */
export const MCP_TOOL_NAME_SEPARATOR = '__';

/**
 * The name the LLM sees for tool `tool` of MCP server `server`: `<server>__<tool>`, with every
 * character outside `[a-zA-Z0-9_-]` replaced by `_`. Built-in tool names never contain `__`,
 * so MCP tools cannot shadow them. A name longer than 64 characters is cut and ends with a
 * short hash of the full name, so two long names stay distinct.
 */
export function mcpToolName(server: string, tool: string): string {
  const full = `${server}${MCP_TOOL_NAME_SEPARATOR}${tool}`;
  const sanitised = full.replace(/[^a-zA-Z0-9_-]/g, '_');
  if (sanitised.length <= MCP_TOOL_NAME_MAX_LENGTH) return sanitised;
  return withHash(sanitised, full);
}

/** `name` cut to fit with `_<hash of key>` at its end; also used to resolve collisions. */
export function withHash(name: string, key: string): string {
  const hash = createHash('sha256').update(key).digest('hex').slice(0, 8);
  return `${name.slice(0, MCP_TOOL_NAME_MAX_LENGTH - hash.length - 1)}_${hash}`;
}
