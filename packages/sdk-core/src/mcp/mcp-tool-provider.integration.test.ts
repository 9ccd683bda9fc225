/**
 * McpToolProvider against real stdio MCP servers: `fixtures/mcp/stdio-server.js` (written with
 * the MCP SDK) started as a child process, and commands that fail to start or to shake hands.
 */
import { readdir, readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { McpServerError } from '../errors/mcp-server-error';
import { InMemoryFileStore } from '../persistence/in-memory-file-store';
import type { ToolContext, ToolDefinition } from '../tool/tool-definition';
import { toolInputJsonSchema } from '../tool/tool-schema';
import { McpToolProvider, type McpToolProviderOptions } from './mcp-tool-provider';

const fixture = fileURLToPath(new URL('../../fixtures/mcp/stdio-server.js', import.meta.url));
const fixtureServer = (env: Record<string, string> = {}) => ({
  command: process.execPath,
  args: [fixture],
  env,
});

const context: ToolContext = {
  conversationId: 'c0ffee00-0000-4000-8000-000000000000',
  workspace: { kind: 'LocalWorkspace', workingDir: '/tmp' },
  store: new InMemoryFileStore(),
  signal: new AbortController().signal,
  toolCallId: 'call_1',
  maskSecrets: (text) => text,
};

const providers: McpToolProvider[] = [];
function provider(options: McpToolProviderOptions): McpToolProvider {
  const created = new McpToolProvider(options);
  providers.push(created);
  return created;
}
afterEach(async () => {
  await Promise.all(providers.splice(0).map((created) => created.close()));
});

function byName(tools: readonly ToolDefinition[], name: string): ToolDefinition {
  const tool = tools.find((candidate) => candidate.name === name);
  if (tool === undefined) throw new Error(`no tool ${name} in ${tools.map((t) => t.name).join()}`);
  return tool;
}

/** Live child processes of this one whose command line contains `marker` (Linux /proc). */
async function childProcessesWith(marker: string): Promise<number[]> {
  const found: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const commandLine = await readFile(`/proc/${entry}/cmdline`, 'utf8');
      if (parent === process.pid && commandLine.includes(marker)) found.push(Number(entry));
    } catch {
      // The process ended while we looked.
    }
  }
  return found;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('McpToolProvider with a stdio server', () => {
  it('lists the tools name-spaced, with the descriptions and JSON schemas of the server', async () => {
    const tools = await provider({ config: { mcpServers: { calc: fixtureServer() } } }).tools();

    expect(tools.map((tool) => tool.name)).toEqual([
      'calc__add',
      'calc__echo',
      'calc__read_env',
      'calc__pid',
      'calc__fail',
      'calc__rich',
    ]);
    const add = byName(tools, 'calc__add');
    expect(add).toMatchObject({
      description: 'Adds two numbers.',
      actionKind: 'MCPToolAction',
      observationKind: 'MCPToolObservation',
    });
    const schema = toolInputJsonSchema(add);
    expect(schema).toMatchObject({
      type: 'object',
      properties: {
        a: { type: 'number', description: 'First addend.' },
        b: { type: 'number' },
        security_risk: expect.any(Object) as unknown,
        summary: expect.any(Object) as unknown,
      },
      required: ['a', 'b'],
    });
    expect(add.parameters.safeParse({ a: 1 }).success).toBe(false);
  });

  it('calls a tool and returns its result with the tool and server names', async () => {
    const tools = await provider({ config: { mcpServers: { calc: fixtureServer() } } }).tools();

    const result = await byName(tools, 'calc__add').execute({ a: 2, b: 40 }, context);
    expect(result).toEqual({
      content: [{ type: 'text', text: '42' }],
      isError: false,
      fields: { tool_name: 'add', server: 'calc' },
    });
  });

  it('passes env to the child only, and masks its values in results', async () => {
    const tools = await provider({
      config: { mcpServers: { calc: fixtureServer({ FIXTURE_TOKEN: 'tok-123456' }) } },
    }).tools();
    const readEnv = byName(tools, 'calc__read_env');

    const token = await readEnv.execute({ name: 'FIXTURE_TOKEN' }, context);
    expect(token.content).toEqual([{ type: 'text', text: '<secret-hidden>' }]);
    expect(process.env.FIXTURE_TOKEN).toBeUndefined();

    // The parent's other variables are not inherited (only PATH, HOME and the like).
    process.env.FERRY_MCP_PARENT_ONLY = 'parent-value';
    try {
      const other = await readEnv.execute({ name: 'FERRY_MCP_PARENT_ONLY' }, context);
      expect(other.content).toEqual([{ type: 'text', text: '(unset)' }]);
    } finally {
      delete process.env.FERRY_MCP_PARENT_ONLY;
    }
  });

  it('maps error results, images and resources to text', async () => {
    const tools = await provider({ config: { mcpServers: { calc: fixtureServer() } } }).tools();

    const failed = await byName(tools, 'calc__fail').execute({}, context);
    expect(failed).toMatchObject({
      isError: true,
      content: [{ type: 'text', text: 'it failed on purpose' }],
    });

    const rich = await byName(tools, 'calc__rich').execute({}, context);
    expect(rich.isError).toBe(false);
    expect(rich.content).toEqual([
      { type: 'text', text: 'a picture:' },
      { type: 'text', text: '[image: image/png, 16 bytes]' },
      { type: 'text', text: '[resource: file:///notes.txt (text/plain)]\nnote body' },
      {
        type: 'text',
        text: '[resource link: file:///big.bin (big.bin, application/octet-stream)]',
      },
    ]);
  });

  it('answers an invalid call with an error result from the server', async () => {
    const tools = await provider({ config: { mcpServers: { calc: fixtureServer() } } }).tools();

    const result = await byName(tools, 'calc__add').execute({ a: 'one', b: 2 }, context);
    expect(result.isError).toBe(true);
    expect(result.content).toEqual([
      { type: 'text', text: expect.stringMatching(/Invalid arguments for tool add/) as unknown },
    ]);
  });

  it('hides the tools the filter does not match, by their name-spaced names', async () => {
    const config = { mcpServers: { calc: fixtureServer(), other: fixtureServer() } };

    const fromString = await provider({ config, filter: '^calc__(add|echo)$' }).tools();
    expect(fromString.map((tool) => tool.name)).toEqual(['calc__add', 'calc__echo']);

    const fromRegExp = await provider({ config, filter: /^other__/g }).tools();
    expect(fromRegExp.map((tool) => tool.name)).toEqual([
      'other__add',
      'other__echo',
      'other__read_env',
      'other__pid',
      'other__fail',
      'other__rich',
    ]);
  });

  it('connects lazily, on the first tools()', async () => {
    const lazy = provider({
      config: { mcpServers: { missing: { command: 'ferry-no-such-mcp-server' } } },
    });
    expect(lazy.serverNames).toEqual(['missing']);
    await expect(lazy.tools()).rejects.toThrow(McpServerError);
  });

  it('close() ends the child process, and the provider refuses further use', async () => {
    const mcp = provider({ config: { mcpServers: { calc: fixtureServer() } } });
    const tools = await mcp.tools();
    const pid = await byName(tools, 'calc__pid').execute({}, context);
    const childPid = Number((pid.content as { text: string }[])[0]?.text);
    expect(isAlive(childPid)).toBe(true);

    await mcp.close();

    expect(isAlive(childPid)).toBe(false);
    await expect(byName(tools, 'calc__echo').execute({ text: 'hi' }, context)).rejects.toThrow(
      'MCP server "calc" is closed',
    );
  });

  it('reconnects a server whose process went away, on the next call', async () => {
    const tools = await provider({ config: { mcpServers: { calc: fixtureServer() } } }).tools();
    const pidTool = byName(tools, 'calc__pid');
    const first = await pidTool.execute({}, context);
    const firstPid = Number((first.content as { text: string }[])[0]?.text);

    process.kill(firstPid, 'SIGKILL');
    // The call in flight when the child dies, or the next one, reconnects.
    let second = await pidTool.execute({}, context);
    if (second.isError === true) second = await pidTool.execute({}, context);

    const secondPid = Number((second.content as { text: string }[])[0]?.text);
    expect(second.isError).toBe(false);
    expect(secondPid).not.toBe(firstPid);
  });
});

describe('McpToolProvider when a server fails', () => {
  it('names a server whose command does not exist', async () => {
    const error = await provider({
      config: {
        mcpServers: {
          calc: fixtureServer(),
          broken: { command: 'ferry-no-such-mcp-server', args: ['--flag'] },
        },
      },
    })
      .tools()
      .catch((caught: unknown) => caught);

    expect(McpServerError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({
      code: 'MCP_SERVER_ERROR',
      server: 'broken',
      reason: 'start_failed',
      message:
        'MCP server "broken" could not be started: command "ferry-no-such-mcp-server" not found',
    });
  });

  it('names a server that exits before the handshake, with the end of its stderr (secrets masked)', async () => {
    const error = await provider({
      config: {
        mcpServers: {
          crashing: {
            command: process.execPath,
            args: ['-e', 'console.error("bad token: " + process.env.API_TOKEN); process.exit(3)'],
            env: { API_TOKEN: 'sk-very-secret' },
          },
        },
      },
    })
      .tools()
      .catch((caught: unknown) => caught);

    expect(error).toBeInstanceOf(McpServerError);
    expect(error).toMatchObject({ server: 'crashing', reason: 'handshake_failed' });
    const { message } = error as McpServerError;
    expect(message).toMatch(/^MCP server "crashing" failed the MCP handshake: .*Connection closed/);
    expect(message).toContain('bad token: <secret-hidden>');
    expect(JSON.stringify(error)).not.toContain('sk-very-secret');
  });

  it('names a server that never answers once the connect timeout has passed, and stops it', async () => {
    const marker = `ferry-silent-${process.pid}-${Date.now()}`;
    const error = await provider({
      config: {
        mcpServers: {
          silent: {
            command: process.execPath,
            args: ['-e', 'setInterval(() => {}, 1000)', marker],
          },
        },
      },
      connectTimeoutSeconds: 0.5,
    })
      .tools()
      .catch((caught: unknown) => caught);

    expect(error).toMatchObject({
      server: 'silent',
      reason: 'timeout',
      message:
        'MCP server "silent" did not complete the MCP handshake in time: no answer within 0.5 seconds',
    });
    expect(await childProcessesWith(marker)).toEqual([]);
  });

  it('stops connecting when the signal aborts', async () => {
    const marker = `ferry-aborted-${process.pid}-${Date.now()}`;
    const error = await provider({
      config: { mcpServers: { calc: { ...fixtureServer(), args: [fixture, marker] } } },
      signal: AbortSignal.abort(),
    })
      .tools()
      .catch((caught: unknown) => caught);

    expect(error).toMatchObject({ server: 'calc', reason: 'aborted' });
    expect(await childProcessesWith(marker)).toEqual([]);
  });

  it('names a malformed server entry before connecting anything', () => {
    expect(() => new McpToolProvider({ config: { mcpServers: { odd: { args: ['x'] } } } })).toThrow(
      /MCP server "odd" is not configured correctly: an entry needs either `command`/,
    );
  });
});
