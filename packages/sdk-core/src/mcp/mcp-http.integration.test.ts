/**
 * McpToolProvider against a real streamable HTTP MCP server (the MCP SDK's, in process, on a
 * loopback port).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { McpServerError } from '../errors/mcp-server-error';
import { InMemoryFileStore } from '../persistence/in-memory-file-store';
import type { ToolContext } from '../tool/tool-definition';
import { McpToolProvider } from './mcp-tool-provider';

const TOKEN = 'Bearer http-secret-token';

const context: ToolContext = {
  conversationId: 'c0ffee00-0000-4000-8000-000000000000',
  workspace: { kind: 'LocalWorkspace', workingDir: '/tmp' },
  store: new InMemoryFileStore(),
  signal: new AbortController().signal,
  toolCallId: 'call_1',
  maskSecrets: (text) => text,
};

/** A fresh MCP server per request: the SDK's stateless streamable HTTP pattern. */
function mcpServer(): McpServer {
  const server = new McpServer({ name: 'http-fixture', version: '1.0.0' });
  server.registerTool(
    'shout',
    { description: 'Upper-cases the text.', inputSchema: { text: z.string() } },
    ({ text }) => ({ content: [{ type: 'text', text: text.toUpperCase() }] }),
  );
  server.registerTool('whoami', { description: 'The Authorization header it got.' }, (extra) => ({
    content: [
      { type: 'text', text: `you sent ${String(extra.requestInfo?.headers.authorization)}` },
    ],
  }));
  return server;
}

let httpServer: Server;
let url: string;

beforeEach(async () => {
  httpServer = createServer((request, response) => {
    if (request.url !== '/mcp') {
      response.writeHead(404).end('not here');
      return;
    }
    if (request.headers.authorization !== TOKEN) {
      response.writeHead(401).end('unauthorized');
      return;
    }
    const server = mcpServer();
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined });
    response.on('close', () => {
      void transport.close();
      void server.close();
    });
    void server.connect(transport).then(() => transport.handleRequest(request, response));
  });
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(httpServer.address() as AddressInfo).port}`;
});

afterEach(async () => {
  httpServer.closeAllConnections();
  await new Promise((resolve) => httpServer.close(resolve));
});

describe('McpToolProvider with a streamable HTTP server', () => {
  it('sends the headers, lists the tools and calls them, masking header values in results', async () => {
    await using mcp = await McpToolProvider.connect({
      config: { mcpServers: { remote: { url: `${url}/mcp`, headers: { Authorization: TOKEN } } } },
    });
    const tools = await mcp.tools();
    expect(tools.map((tool) => tool.name)).toEqual(['remote__shout', 'remote__whoami']);

    const [shout, whoami] = tools;
    expect(await shout?.execute({ text: 'ahoy' }, context)).toEqual({
      content: [{ type: 'text', text: 'AHOY' }],
      isError: false,
      fields: { tool_name: 'shout', server: 'remote' },
    });
    expect((await whoami?.execute({}, context))?.content).toEqual([
      { type: 'text', text: 'you sent <secret-hidden>' },
    ]);
  });

  it('names a server that refuses the handshake', async () => {
    const error = await McpToolProvider.connect({
      config: { mcpServers: { remote: { url: `${url}/mcp` } } },
    }).catch((caught: unknown) => caught);

    expect(McpServerError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ server: 'remote', reason: 'handshake_failed' });
    expect((error as Error).message).toMatch(
      /^MCP server "remote" failed the MCP handshake: .*401/,
    );
  });

  it('names a URL where no MCP server answers', async () => {
    const error = await McpToolProvider.connect({
      config: {
        mcpServers: { lost: { url: `${url}/elsewhere`, headers: { Authorization: TOKEN } } },
      },
    }).catch((caught: unknown) => caught);

    expect(error).toMatchObject({ server: 'lost', reason: 'handshake_failed' });
    expect((error as Error).message).toMatch(/404/);
  });

  it('names a server that cannot be reached', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise((resolve) => closed.close(resolve));

    const error = await McpToolProvider.connect({
      config: { mcpServers: { offline: { url: `http://127.0.0.1:${port}/mcp` } } },
    }).catch((caught: unknown) => caught);

    expect(error).toMatchObject({ server: 'offline', reason: 'handshake_failed' });
    expect((error as Error).message).toMatch(/ECONNREFUSED/);
  });
});
