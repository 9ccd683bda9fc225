/**
 * End to end: a LocalConversation whose agent calls a tool of a real stdio MCP server
 * (`fixtures/mcp/stdio-server.js`), driven by the scripted LLM server.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { AgentInput } from '../agent/agent-schema';
import { LocalConversation } from '../conversation/local-conversation';
import { InMemoryFileStore } from '../persistence/in-memory-file-store';
import { startScriptedLLMServer, toolCall } from '../testing/index';
import { McpToolProvider } from './mcp-tool-provider';

const fixture = fileURLToPath(new URL('../../fixtures/mcp/stdio-server.js', import.meta.url));

describe('a conversation with MCP tools', () => {
  it("offers the agent's MCP tools (filtered) to the LLM without naming them, calls one and records its result", async () => {
    await using llm = await startScriptedLLMServer({
      script: [
        toolCall('calc__add', { a: 19, b: 23 }),
        toolCall('finish', { message: 'It is 42.' }),
      ],
    });
    const agent = {
      llm: { model: 'scripted', base_url: llm.baseUrl, api_key: 'test-key' },
      mcp_config: {
        mcpServers: {
          calc: { command: process.execPath, args: [fixture] },
        },
      },
      filter_tools_regex: '^(calc__add|calc__echo|finish|think)$',
    } satisfies AgentInput;
    await using mcp = await McpToolProvider.connect({
      config: agent.mcp_config,
      filter: agent.filter_tools_regex,
    });
    const mcpTools = await mcp.tools();
    expect(mcpTools.map((tool) => tool.name)).toEqual(['calc__add', 'calc__echo']);

    const conversation = await LocalConversation.open({
      agent,
      workspace: { kind: 'LocalWorkspace', workingDir: '/tmp' },
      store: new InMemoryFileStore(),
      onWarning: () => undefined,
    });
    await conversation.sendMessage('What is 19 + 23?');
    expect(await conversation.run()).toBe('finished');
    await conversation.close();

    const offered = llm.requests[0]?.tools?.map((tool) => tool.function?.name);
    expect(offered).toContain('calc__add');
    expect(offered).not.toContain('calc__read_env');
    expect(
      llm.requests[0]?.tools?.find((tool) => tool.function?.name === 'calc__add'),
    ).toMatchObject({
      function: {
        description: 'Adds two numbers.',
        parameters: { properties: { a: { type: 'number' }, b: { type: 'number' } } },
      },
    });

    const action = [...conversation.events].find(
      (event) => event.kind === 'ActionEvent' && event.tool_name === 'calc__add',
    );
    expect(action).toMatchObject({ action: { kind: 'MCPToolAction', a: 19, b: 23 } });
    const observation = [...conversation.events].find(
      (event) => event.kind === 'ObservationEvent' && event.tool_name === 'calc__add',
    );
    expect(observation).toMatchObject({
      observation: {
        kind: 'MCPToolObservation',
        content: [{ type: 'text', text: '42' }],
        is_error: false,
        tool_name: 'add',
        server: 'calc',
      },
    });
    expect(llm.requests[1]?.messages).toContainEqual(
      expect.objectContaining({ role: 'tool', content: '42' }),
    );
  });
});
