import { describe, expect, it } from 'vitest';
import { AgentKindMismatchError } from '../errors/agent-kind-mismatch-error';
import { ToolsRemovedError } from '../errors/tools-removed-error';
import { agentSchema, type AgentInput } from './agent-schema';
import { planResume, verifyAgent } from './verify-agent';

const base: AgentInput = {
  llm: { model: 'openai/gpt-4.1-mini', api_key: 'sk-old-key', temperature: 0 },
  tools: [{ name: 'terminal' }, { name: 'file_editor' }],
  agent_context: { system_message_suffix: 'Be brief.' },
};
const persisted = agentSchema.parse(base);

describe('planResume', () => {
  it('allows changing model, key, sampling, context, prompts, MCP and condenser and lists each change', () => {
    const plan = planResume(
      {
        ...base,
        llm: { model: 'anthropic/claude-sonnet-4-5', api_key: 'sk-new-key', temperature: 0.7 },
        agent_context: { system_message_suffix: 'Be thorough.' },
        system_prompt: 'You are Ferry.',
        mcp_config: { mcpServers: { fs: { command: 'mcp-fs', env: { TOKEN: 'mcp-secret' } } } },
        condenser: {
          kind: 'LLMSummarizingCondenser',
          llm: { model: 'openai/gpt-4.1-nano' },
          max_size: 50,
        },
      },
      persisted,
    );
    expect(plan.compatible).toBe(true);
    expect(plan.problems).toEqual([]);
    const byPath = Object.fromEntries(plan.changes.map((change) => [change.path, change]));
    expect(byPath['llm.model']).toMatchObject({
      old: 'openai/gpt-4.1-mini',
      new: 'anthropic/claude-sonnet-4-5',
    });
    expect(byPath['llm.temperature']).toMatchObject({ old: 0, new: 0.7 });
    expect(byPath['llm.api_key']).toEqual({
      path: 'llm.api_key',
      old: '**********',
      new: '**********',
      secret: true,
    });
    expect(byPath['agent_context.system_message_suffix']).toMatchObject({ new: 'Be thorough.' });
    expect(byPath['system_prompt']).toMatchObject({ old: undefined, new: 'You are Ferry.' });
    expect(byPath['mcp_config.mcpServers.fs.env.TOKEN']).toMatchObject({
      old: undefined,
      new: '**********',
      secret: true,
    });
    expect(JSON.stringify(plan.changes)).not.toMatch(/sk-new-key|sk-old-key|mcp-secret/);
  });

  it('reports no change for an equal agent', () => {
    expect(planResume(base, persisted).changes).toEqual([]);
  });

  it('allows adding a tool', () => {
    const plan = planResume(
      { ...base, tools: [...(base.tools ?? []), { name: 'task_tracker' }] },
      persisted,
    );
    expect(plan.compatible).toBe(true);
    expect(plan.changes.map((change) => change.path)).toEqual(['tools']);
  });

  it('refuses removing an explicit tool or a default tool, naming them', () => {
    const plan = planResume(
      { ...base, tools: [{ name: 'terminal' }], include_default_tools: ['FinishTool'] },
      persisted,
    );
    expect(plan.compatible).toBe(false);
    expect(plan.problems).toEqual([
      expect.objectContaining({ code: 'TOOLS_REMOVED', removed: ['file_editor', 'ThinkTool'] }),
    ]);
  });

  it('refuses another agent kind', () => {
    const plan = planResume({ ...base, kind: 'CodeActAgent' }, persisted);
    expect(plan.compatible).toBe(false);
    expect(plan.problems[0]).toMatchObject({
      code: 'AGENT_KIND_MISMATCH',
      persisted: 'Agent',
      runtime: 'CodeActAgent',
    });
  });
});

describe('verifyAgent', () => {
  it('returns the parsed runtime agent when compatible', () => {
    expect(verifyAgent({ ...base, llm: { model: 'gpt-5' } }, persisted).llm.model).toBe('gpt-5');
  });

  it('throws ToolsRemovedError listing what was removed', () => {
    const error = (() => {
      try {
        verifyAgent({ ...base, tools: [] }, persisted);
      } catch (caught) {
        return caught;
      }
      return undefined;
    })();
    expect(ToolsRemovedError.isInstance(error)).toBe(true);
    expect((error as ToolsRemovedError).removed).toEqual(['terminal', 'file_editor']);
    expect((error as ToolsRemovedError).code).toBe('TOOLS_REMOVED');
  });

  it('throws AgentKindMismatchError for another kind', () => {
    expect(() => verifyAgent({ ...base, kind: 'Other' }, persisted)).toThrow(
      AgentKindMismatchError,
    );
  });
});
