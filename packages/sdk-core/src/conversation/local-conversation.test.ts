import { readdir, readFile, writeFile, appendFile, cp } from 'node:fs/promises';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AgentInput } from '../agent/agent-schema';
import { AgentKindMismatchError } from '../errors/agent-kind-mismatch-error';
import { ConversationIdMismatchError } from '../errors/conversation-id-mismatch-error';
import { ConversationLockedError } from '../errors/conversation-locked-error';
import { CorruptEventLogError } from '../errors/corrupt-event-log-error';
import { ToolsRemovedError } from '../errors/tools-removed-error';
import { isKnownEvent, type AnyEvent } from '../event/parse-event';
import { InMemoryFileStore } from '../persistence/in-memory-file-store';
import { createTemporaryDirectory } from '../testing/temporary-directory';
import { conversationFolderName } from '../store/conversation-id';
import { LocalConversation, type LocalConversationOptions } from './local-conversation';

const workspace = { kind: 'LocalWorkspace', workingDir: '/tmp/project' };
const agent: AgentInput = {
  llm: { model: 'openai/gpt-4.1-mini', api_key: 'sk-first-secret-1111', temperature: 0 },
  tools: [{ name: 'terminal' }, { name: 'file_editor' }],
};

async function snapshot(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  async function walk(folder: string, prefix: string): Promise<void> {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      const path = join(folder, entry.name);
      if (entry.isDirectory()) await walk(path, `${prefix}${entry.name}/`);
      else files[`${prefix}${entry.name}`] = await readFile(path, 'utf8');
    }
  }
  await walk(dir, '');
  return files;
}

async function catchError(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

function open(options: Partial<LocalConversationOptions> & { persistenceDir: string }) {
  return LocalConversation.open({ workspace, onWarning: () => undefined, ...options });
}

describe('LocalConversation.open', () => {
  it('creates a conversation with its state and log in <root>/<id without dashes>', async () => {
    await using dir = await createTemporaryDirectory();
    const conversation = await open({ persistenceDir: dir.path, agent, title: 'first' });
    await conversation.sendMessage('hello');
    await conversation.close();
    const folder = join(dir.path, conversationFolderName(conversation.id));
    const files = await snapshot(folder);
    expect(Object.keys(files).sort()).toEqual([
      'base_state.json',
      // The live context is the whole log until a condensation: the next resume reads no event.
      'context_snapshot.json',
      'events/segment-000001.jsonl',
    ]);
    expect(JSON.parse(files['context_snapshot.json'] ?? '{}')).toMatchObject({
      condensation: null,
      pinned: [],
    });
    const state = JSON.parse(files['base_state.json'] ?? '{}') as Record<string, unknown>;
    expect(state).toMatchObject({ id: conversation.id, execution_status: 'idle', title: 'first' });
    expect(conversation.openReport.mode).toBe('created');
  });

  it('resumes with a changed agent and records the change with secrets redacted', async () => {
    await using dir = await createTemporaryDirectory();
    const first = await open({ persistenceDir: dir.path, agent });
    await first.sendMessage('hi');
    await first.close();

    const changed: AgentInput = {
      llm: {
        model: 'anthropic/claude-sonnet-4-5',
        api_key: 'sk-second-secret-2222',
        temperature: 0.5,
      },
      tools: [{ name: 'terminal' }, { name: 'file_editor' }, { name: 'task_tracker' }],
      agent_context: { system_message_suffix: 'Answer in French.' },
      system_prompt: 'You are a careful engineer.',
      mcp_config: { mcpServers: { docs: { command: 'docs-mcp' } } },
      condenser: {
        kind: 'LLMSummarizingCondenser',
        llm: { model: 'openai/gpt-4.1-nano' },
        max_size: 40,
      },
    };
    const second = await open({
      persistenceDir: dir.path,
      conversationId: first.id,
      agent: changed,
    });
    expect(second.openReport.mode).toBe('resumed');
    expect(second.agent.llm).toMatchObject({
      model: 'anthropic/claude-sonnet-4-5',
      api_key: 'sk-second-secret-2222',
      temperature: 0.5,
    });
    expect(second.agent.agent_context?.system_message_suffix).toBe('Answer in French.');
    expect(second.agent.system_prompt).toBe('You are a careful engineer.');
    expect(second.agent.condenser).toMatchObject({ max_size: 40 });
    expect(second.state.agent.llm.api_key).toBe('**********');

    const update = second.events.at(-1);
    expect(update).toMatchObject({ kind: 'ConversationStateUpdateEvent', key: 'agent' });
    expect(JSON.stringify(update)).not.toContain('sk-second-secret-2222');
    expect(JSON.stringify(update)).toContain('anthropic/claude-sonnet-4-5');
    const paths = second.openReport.agentChanges.map((change) => change.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'llm.model',
        'llm.api_key',
        'llm.temperature',
        'tools',
        'system_prompt',
      ]),
    );
    await second.close();

    // and the change is what a third session sees without an agent
    const third = await open({ persistenceDir: dir.path, conversationId: first.id });
    expect(third.agent.llm.model).toBe('anthropic/claude-sonnet-4-5');
    expect(third.agent.llm.api_key).toBeUndefined();
    expect(third.events.length).toBe(second.events.length);
    await third.close();
  });

  it('resumes without an agent from the persisted one, and says clearly that its redacted key is missing when the LLM is needed', async () => {
    await using dir = await createTemporaryDirectory();
    const first = await open({ persistenceDir: dir.path, agent });
    await first.close();
    const previous = process.env.OPENAI_API_KEY;
    delete process.env.OPENAI_API_KEY;
    try {
      const second = await open({ persistenceDir: dir.path, conversationId: first.id });
      expect(second.agent.llm.model).toBe('openai/gpt-4.1-mini');
      expect(second.agent.llm.api_key).toBeUndefined();
      await second.sendMessage('hello');
      const error = await catchError(second.run());
      expect(error).toMatchObject({
        name: 'LLMCredentialsMissingError',
        code: 'LLM_CREDENTIALS_MISSING',
      });
      expect((error as Error).message).toMatch(
        /API key of LLM usage_id 'default' is missing.*FERRY_SECRET_KEY/,
      );
      expect(second.state.execution_status).toBe('error');
      await second.close();
    } finally {
      if (previous !== undefined) process.env.OPENAI_API_KEY = previous;
    }
  });

  it('records no agent update when the same agent resumes', async () => {
    await using dir = await createTemporaryDirectory();
    const first = await open({ persistenceDir: dir.path, agent });
    await first.close();
    const second = await open({ persistenceDir: dir.path, conversationId: first.id, agent });
    expect(second.events.length).toBe(0);
    // without a cipher key the persisted key was redacted: the plan says it is supplied again
    expect(second.openReport.agentChanges).toEqual([
      { path: 'llm.api_key', old: undefined, new: '**********', secret: true },
    ]);
    await second.close();
  });

  it.each([
    [
      'an explicit tool removed',
      { ...agent, tools: [{ name: 'terminal' }] },
      ToolsRemovedError,
      ['file_editor'],
    ],
    [
      'a default tool removed',
      { ...agent, include_default_tools: ['FinishTool'] },
      ToolsRemovedError,
      ['ThinkTool'],
    ],
    ['another agent kind', { ...agent, kind: 'PlannerAgent' }, AgentKindMismatchError, undefined],
  ] satisfies [string, AgentInput, unknown, string[] | undefined][])(
    'refuses a resume with %s and changes nothing on disk',
    async (_name, runtime, ErrorClass, removed) => {
      await using dir = await createTemporaryDirectory();
      const first = await open({ persistenceDir: dir.path, agent });
      await first.sendMessage('keep me');
      await first.close();
      const before = await snapshot(dir.path);
      const error = await catchError(
        open({ persistenceDir: dir.path, conversationId: first.id, agent: runtime }),
      );
      expect(error).toBeInstanceOf(ErrorClass);
      if (removed !== undefined) expect((error as ToolsRemovedError).removed).toEqual(removed);
      expect(await snapshot(dir.path)).toEqual(before);
    },
  );

  it('refuses a folder whose state has another id', async () => {
    await using dir = await createTemporaryDirectory();
    const first = await open({ persistenceDir: dir.path, agent });
    await first.close();
    const otherId = '00000000-0000-4000-8000-000000000001';
    await cp(
      join(dir.path, conversationFolderName(first.id)),
      join(dir.path, conversationFolderName(otherId)),
      { recursive: true },
    );
    const before = await snapshot(dir.path);
    const error = await catchError(
      open({ persistenceDir: dir.path, conversationId: otherId, agent }),
    );
    expect(ConversationIdMismatchError.isInstance(error)).toBe(true);
    expect((error as Error).message).toContain(first.id);
    expect(await snapshot(dir.path)).toEqual(before);
  });

  it('recovers a conversation persisted as running: status error and every unanswered action answered', async () => {
    await using dir = await createTemporaryDirectory();
    const first = await open({ persistenceDir: dir.path, agent });
    const action = (toolCallId: string) => ({
      id: `action-${toolCallId}`,
      timestamp: new Date().toISOString(),
      source: 'agent' as const,
      kind: 'ActionEvent' as const,
      thought: [],
      thinking_blocks: [],
      action: { kind: 'TerminalAction', command: 'sleep 100' },
      tool_name: 'terminal',
      tool_call_id: toolCallId,
      tool_call: {
        id: toolCallId,
        name: 'terminal',
        arguments: '{"command":"sleep 100"}',
        origin: 'completion' as const,
      },
      llm_response_id: 'resp-1',
      security_risk: 'LOW' as const,
    });
    await first.appendEvents([action('call_1'), action('call_2')]);
    await first.appendEvents([
      {
        id: 'obs-1',
        timestamp: new Date().toISOString(),
        source: 'environment',
        kind: 'ObservationEvent',
        observation: { kind: 'TerminalObservation', content: [] },
        action_id: 'action-call_1',
        tool_name: 'terminal',
        tool_call_id: 'call_1',
      },
    ]);
    await first.updateState({ execution_status: 'running' });
    await first.close(); // as if the process died mid-run

    const second = await open({ persistenceDir: dir.path, conversationId: first.id });
    expect(second.state.execution_status).toBe('error');
    expect(second.openReport.recoveredFromCrash).toBe(true);
    const errors = [...second.events].filter((event) => event.kind === 'AgentErrorEvent');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ tool_call_id: 'call_2', tool_name: 'terminal' });
    expect(JSON.stringify(errors[0])).toMatch(/interrupted/);
    await second.close();
  });

  it.each([
    ['the finish tool was observed', 'finish', 'finished'],
    ['the agent replied without a tool call', 'reply', 'finished'],
    ['a think was observed', 'think', 'error'],
  ] as const)(
    'recovers a conversation found running whose log shows %s as %s',
    async (_name, lastStep, status) => {
      await using dir = await createTemporaryDirectory();
      const first = await open({ persistenceDir: dir.path, agent });
      const envelope = (id: string) => ({ id, timestamp: new Date().toISOString() });
      if (lastStep === 'reply') {
        await first.appendEvents([
          {
            ...envelope('reply-1'),
            source: 'agent',
            kind: 'MessageEvent',
            llm_message: {
              role: 'assistant',
              content: [{ type: 'text', text: 'done' }],
              reasoning_content: null,
            },
            llm_response_id: 'resp-1',
            activated_skills: [],
            extended_content: [],
          },
        ]);
      } else {
        const tool = lastStep === 'finish' ? 'FinishTool' : 'ThinkTool';
        await first.appendEvents([
          {
            ...envelope('action-1'),
            source: 'agent',
            kind: 'ActionEvent',
            thought: [],
            thinking_blocks: [],
            action: { kind: lastStep === 'finish' ? 'FinishAction' : 'ThinkAction' },
            tool_name: lastStep,
            tool_call_id: 'call_1',
            tool_call: { id: 'call_1', name: lastStep, arguments: '{}', origin: 'completion' },
            llm_response_id: 'resp-1',
            security_risk: 'LOW',
          },
        ]);
        await first.appendEvents([
          {
            ...envelope('obs-1'),
            source: 'environment',
            kind: 'ObservationEvent',
            observation: { kind: tool.replace('Tool', 'Observation'), content: [] },
            action_id: 'action-1',
            tool_name: lastStep,
            tool_call_id: 'call_1',
          },
        ]);
      }
      // The step's stats are logged after it; the process dies before the status is written.
      await first.updateState({ execution_status: 'running' }, { record: 'stats' });
      await first.close();

      const second = await open({ persistenceDir: dir.path, conversationId: first.id });
      expect(second.openReport.recoveredFromCrash).toBe(true);
      expect(second.state.execution_status).toBe(status);
      expect([...second.events].filter((event) => event.kind === 'AgentErrorEvent')).toEqual([]);
      expect(second.events.at(-1)).toMatchObject({
        kind: 'ConversationStateUpdateEvent',
        key: 'execution_status',
        value: status,
      });
      await second.close();
    },
  );

  it('accumulates stats across sessions', async () => {
    await using dir = await createTemporaryDirectory();
    const first = await open({ persistenceDir: dir.path, agent });
    await first.recordUsage({
      usageId: 'default',
      model: 'gpt-4.1-mini',
      promptTokens: 100,
      completionTokens: 10,
      cost: 0.01,
    });
    await first.close();
    const second = await open({
      persistenceDir: dir.path,
      conversationId: first.id,
      agent: { ...agent, llm: { model: 'gpt-5' } },
    });
    await second.recordUsage({
      usageId: 'default',
      model: 'gpt-5',
      promptTokens: 50,
      completionTokens: 5,
      cost: 0.02,
    });
    const metrics = second.state.stats.usage_to_metrics.default;
    expect(metrics?.accumulated_token_usage).toMatchObject({
      prompt_tokens: 150,
      completion_tokens: 15,
    });
    expect(metrics?.accumulated_cost).toBeCloseTo(0.03);
    await second.close();
  });

  it.each([
    ['without a cipher key', undefined],
    ['with a cipher key', 'a-long-random-cipher-key'],
  ])('never writes a secret value to disk %s', async (_name, secretKey) => {
    await using dir = await createTemporaryDirectory();
    const secrets = [
      'sk-openai-aaaa1111',
      'AKIAEXAMPLE2222',
      'aws-secret-3333',
      'sk-condenser-4444',
      'ghp_context5555',
      'mcp-token-6666',
    ];
    const secretAgent: AgentInput = {
      llm: {
        model: 'gpt-4.1',
        api_key: secrets[0],
        aws_access_key_id: secrets[1],
        aws_secret_access_key: secrets[2],
      },
      condenser: {
        kind: 'LLMSummarizingCondenser',
        llm: { model: 'gpt-4.1-nano', api_key: secrets[3] },
      },
      agent_context: { secrets: { GITHUB_TOKEN: secrets[4] } },
      mcp_config: { mcpServers: { gh: { command: 'gh-mcp', env: { GH_TOKEN: secrets[5] } } } },
    };
    const first = await open({
      persistenceDir: dir.path,
      agent: secretAgent,
      ...(secretKey ? { secretKey } : {}),
    });
    await first.sendMessage('hello');
    await first.close();
    const second = await open({
      persistenceDir: dir.path,
      conversationId: first.id,
      agent: { ...secretAgent, llm: { ...secretAgent.llm, model: 'gpt-5' } },
      ...(secretKey ? { secretKey } : {}),
    });
    await second.fork({ title: 'copy' }).then((fork) => fork.close());
    await second.close();
    const all = Object.values(await snapshot(dir.path)).join('\n');
    for (const secret of secrets) expect(all).not.toContain(secret);

    const third = await open({
      persistenceDir: dir.path,
      conversationId: first.id,
      ...(secretKey ? { secretKey } : {}),
    });
    expect(third.agent.llm.api_key).toBe(secretKey ? secrets[0] : undefined);
    await third.close();
  });

  it('recovers a torn last line and refuses a corrupt middle line without changing the file', async () => {
    await using dir = await createTemporaryDirectory();
    const first = await open({ persistenceDir: dir.path, agent });
    await first.sendMessage('one');
    await first.sendMessage('two');
    await first.close();
    const segment = join(
      dir.path,
      conversationFolderName(first.id),
      'events',
      'segment-000001.jsonl',
    );

    await appendFile(segment, '{"id":"torn","kind":"MessageEv');
    const warnings: string[] = [];
    const second = await LocalConversation.open({
      workspace,
      persistenceDir: dir.path,
      conversationId: first.id,
      onWarning: (w) => warnings.push(w),
    });
    expect(second.events.length).toBe(2);
    expect(warnings.join('\n')).toMatch(/torn|incomplete|cut/i);
    await second.close();

    const lines = (await readFile(segment, 'utf8')).split('\n');
    lines[0] = '{not json';
    await writeFile(segment, lines.join('\n'));
    const before = await readFile(segment);
    const error = await catchError(open({ persistenceDir: dir.path, conversationId: first.id }));
    expect(error).toBeInstanceOf(CorruptEventLogError);
    expect(error).toMatchObject({ line: 1 });
    expect((error as Error).message).toContain('segment-000001.jsonl');
    expect(await readFile(segment)).toEqual(before);
  });

  it('refuses a second owner while the first is open', async () => {
    await using dir = await createTemporaryDirectory();
    const first = await open({ persistenceDir: dir.path, agent });
    const error = await catchError(open({ persistenceDir: dir.path, conversationId: first.id }));
    expect(ConversationLockedError.isInstance(error)).toBe(true);
    await first.close();
    const again = await open({ persistenceDir: dir.path, conversationId: first.id });
    await again.close();
  });

  it('forks the log up to an event into a new idle conversation, leaving the source untouched', async () => {
    await using dir = await createTemporaryDirectory();
    const source = await open({ persistenceDir: dir.path, agent });
    const kept = await source.sendMessage('one');
    await source.sendMessage('two');
    const before = await snapshot(join(dir.path, conversationFolderName(source.id)));
    const fork = await source.fork({ fromEventId: kept.id, title: 'branch' });
    expect(fork.id).not.toBe(source.id);
    expect(fork.events.length).toBe(1);
    expect(fork.events[0]?.id).toBe(kept.id);
    expect(fork.state).toMatchObject({ execution_status: 'idle', title: 'branch' });
    await fork.sendMessage('only in the fork');
    expect(source.events.length).toBe(2);
    expect(await snapshot(join(dir.path, conversationFolderName(source.id)))).toEqual(before);
    await fork.close();
    await source.close();
  });

  it('gives back exactly the appended events in order over any sequence of appends, closes and reopens', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.string({ maxLength: 40 }).map((text) => ({ op: 'send' as const, text })),
            fc.constant({ op: 'reopen' as const }),
          ),
          { maxLength: 25 },
        ),
        async (ops) => {
          const store = new InMemoryFileStore();
          let conversation = await LocalConversation.open({
            workspace,
            store,
            agent,
            onWarning: () => undefined,
          });
          const id = conversation.id;
          const sent: string[] = [];
          for (const op of ops) {
            if (op.op === 'send') {
              await conversation.sendMessage(op.text);
              sent.push(op.text);
            } else {
              await conversation.close();
              conversation = await LocalConversation.open({
                workspace,
                store,
                conversationId: id,
                onWarning: () => undefined,
              });
            }
          }
          const texts = [...conversation.events].map((event: AnyEvent) =>
            isKnownEvent(event) &&
            event.kind === 'MessageEvent' &&
            event.llm_message.content[0]?.type === 'text'
              ? event.llm_message.content[0].text
              : undefined,
          );
          expect(texts).toEqual(sent);
          await conversation.close();
        },
      ),
      { numRuns: 60 },
    );
  });
});
