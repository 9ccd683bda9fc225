import { describe, expect, it } from 'vitest';
import { MCP_TOOL_NAME_MAX_LENGTH, mcpToolName } from './mcp-tool-name';

describe('mcpToolName', () => {
  it('joins server and tool with a double underscore', () => {
    expect(mcpToolName('github', 'create_issue')).toBe('github__create_issue');
  });

  it('replaces characters providers reject', () => {
    expect(mcpToolName('my server', 'files.read/all')).toBe('my_server__files_read_all');
    expect(mcpToolName('büro', 'x-y')).toBe('b_ro__x-y');
  });

  it('keeps long names within 64 characters, distinct, and stable', () => {
    const server = 's'.repeat(40);
    const first = mcpToolName(server, `${'t'.repeat(40)}_one`);
    const second = mcpToolName(server, `${'t'.repeat(40)}_two`);

    expect(first).toHaveLength(MCP_TOOL_NAME_MAX_LENGTH);
    expect(second).toHaveLength(MCP_TOOL_NAME_MAX_LENGTH);
    expect(first).not.toBe(second);
    expect(first).toMatch(/^[a-zA-Z0-9_-]+$/);
    expect(mcpToolName(server, `${'t'.repeat(40)}_one`)).toBe(first);
  });
});
