import { describe, expect, it } from 'vitest';
import { McpServerError } from '../errors/mcp-server-error';
import { parseMcpConfig } from './mcp-config';

describe('parseMcpConfig', () => {
  it('reads stdio and streamable HTTP servers in order, with defaults', () => {
    const servers = parseMcpConfig({
      mcpServers: {
        fs: { command: 'mcp-fs', env: { TOKEN: 'secret' } },
        docs: { url: 'https://docs.example.com/mcp', headers: { Authorization: 'Bearer x' } },
      },
    });

    expect([...servers.keys()]).toEqual(['fs', 'docs']);
    expect(servers.get('fs')).toEqual({ command: 'mcp-fs', args: [], env: { TOKEN: 'secret' } });
    expect(servers.get('docs')).toEqual({
      url: 'https://docs.example.com/mcp',
      headers: { Authorization: 'Bearer x' },
    });
  });

  it('accepts an empty config', () => {
    expect(parseMcpConfig({}).size).toBe(0);
    expect(parseMcpConfig(undefined).size).toBe(0);
  });

  it('names the malformed server without showing its secret values', () => {
    const parse = () =>
      parseMcpConfig({
        mcpServers: { ok: { command: 'x' }, bad: { command: 'y', env: { TOKEN: 12345678 } } },
      });

    expect(parse).toThrow(McpServerError);
    expect(parse).toThrow(/^MCP server "bad" is not configured correctly: .*env\.TOKEN/);
    expect(parse).not.toThrow(/12345678/);
  });

  it('refuses transports other than streamable HTTP', () => {
    expect(() =>
      parseMcpConfig({ mcpServers: { legacy: { url: 'http://127.0.0.1/sse', transport: 'sse' } } }),
    ).toThrow(/MCP server "legacy" is not configured correctly: .*transport/);
  });
});
