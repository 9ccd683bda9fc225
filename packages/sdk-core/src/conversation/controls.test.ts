import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { AgentInput } from '../agent/agent-schema';
import { isKnownEvent } from '../event/parse-event';
import { InMemoryFileStore } from '../persistence/in-memory-file-store';
import {
  contextWindowExceeded,
  startScriptedLLMServer,
  text,
  toolCall,
  toolCalls,
} from '../testing/index';
import { createTemporaryDirectory } from '../testing/temporary-directory';
import { LocalConversation } from './local-conversation';
import { openInMemory, testWorkspace as workspace, timeline } from './test-support';

function agentFor(baseUrl: string, extra: Partial<AgentInput> = {}): AgentInput {
  return {
    llm: { model: 'scripted-model', base_url: baseUrl, api_key: 'sk-controls-key', num_retries: 0 },
    tools: [{ name: 'task_tracker' }],
    ...extra,
  };
}

const open = openInMemory;

const plan = (title: string) => ({ command: 'plan', task_list: [{ title }] });

describe('confirmation', () => {
  it('AlwaysConfirm holds actions; another process accepts them and they run once', async () => {
    await using dir = await createTemporaryDirectory();
    await using llm = await startScriptedLLMServer({
      script: [
        toolCall('task_tracker', plan('held task')),
        toolCall('finish', { message: 'done' }),
      ],
    });
    const first = await LocalConversation.open({
      workspace,
      persistenceDir: dir.path,
      agent: agentFor(llm.baseUrl),
      onWarning: () => undefined,
    });
    await first.setConfirmationPolicy({ kind: 'AlwaysConfirm' });
    await first.sendMessage('plan something');
    expect(await first.run()).toBe('waiting_for_confirmation');
    expect(timeline(first.events).at(-1)).toMatchObject({
      kind: 'ActionEvent',
      tool_name: 'task_tracker',
    });
    await first.close();

    const dist = new URL('../../dist/index.js', import.meta.url).href;
    const script = `
      import { LocalConversation } from ${JSON.stringify(dist)};
      const c = await LocalConversation.open({ workspace: ${JSON.stringify(workspace)}, persistenceDir: process.argv[1], conversationId: process.argv[2],
        agent: ${JSON.stringify(agentFor(llm.baseUrl))} });
      const status = await c.respondToConfirmation({ accept: true });
      process.stdout.write(status);
      await c.close();
    `;
    const { stdout } = await promisify(execFile)(process.execPath, [
      '--input-type=module',
      '-e',
      script,
      dir.path,
      first.id,
    ]);
    expect(stdout).toBe('finished');

    const reopened = await LocalConversation.open({
      workspace,
      persistenceDir: dir.path,
      conversationId: first.id,
      onWarning: () => undefined,
    });
    const observations = [...reopened.events].filter((event) => event.kind === 'ObservationEvent');
    expect(
      observations.filter(
        (event) =>
          isKnownEvent(event) &&
          event.kind === 'ObservationEvent' &&
          event.tool_name === 'task_tracker',
      ),
    ).toHaveLength(1);
    await reopened.close();
  });

  it('a rejection is seen by the LLM in its next request', async () => {
    await using llm = await startScriptedLLMServer({
      script: [
        toolCall('task_tracker', plan('risky')),
        toolCall('finish', { message: 'ok, not doing it' }),
      ],
    });
    const conversation = await open({ agent: agentFor(llm.baseUrl) });
    await conversation.setConfirmationPolicy({ kind: 'AlwaysConfirm' });
    await conversation.sendMessage('go');
    expect(await conversation.run()).toBe('waiting_for_confirmation');
    expect(await conversation.respondToConfirmation({ accept: false, reason: 'not today' })).toBe(
      'idle',
    );
    expect(await conversation.run()).toBe('finished');
    const tool = llm.requests[1]?.messages.find((message) => message.role === 'tool');
    expect(JSON.stringify(tool)).toContain('not today');
    await conversation.close();
  });

  it('never holds a lone finish or think', async () => {
    await using llm = await startScriptedLLMServer({
      script: [toolCall('think', { thought: 'hm' }), toolCall('finish', { message: 'done' })],
    });
    const conversation = await open({ agent: agentFor(llm.baseUrl) });
    await conversation.setConfirmationPolicy({ kind: 'AlwaysConfirm' });
    await conversation.sendMessage('go');
    expect(await conversation.run()).toBe('finished');
    await conversation.close();
  });

  it('ConfirmRisky holds only actions at or above the threshold, as annotated, when an analyzer trusts the LLM', async () => {
    await using llm = await startScriptedLLMServer({
      script: [
        toolCall('task_tracker', { ...plan('low'), security_risk: 'LOW' }),
        toolCall('task_tracker', { ...plan('high'), security_risk: 'HIGH' }),
        toolCall('finish', { message: 'done' }),
      ],
    });
    const store = new InMemoryFileStore();
    const conversation = await open({ agent: agentFor(llm.baseUrl), store });
    await conversation.updateState({ security_analyzer: { kind: 'LLMSecurityAnalyzer' } });
    await conversation.setConfirmationPolicy({ kind: 'ConfirmRisky', threshold: 'HIGH' });
    await conversation.sendMessage('go');
    expect(await conversation.run()).toBe('waiting_for_confirmation');
    const held = timeline(conversation.events).at(-1);
    expect(held).toMatchObject({ kind: 'ActionEvent', security_risk: 'HIGH' });
    expect(await conversation.run()).toBe('finished'); // run() again means accept
    await conversation.close();
  });
});

describe('condensation', () => {
  it('condenses past max_size: the next request is shorter and carries the summary; the log keeps everything', async () => {
    const steps = 8;
    let agentCalls = 0;
    await using llm = await startScriptedLLMServer({
      respond: (request) => {
        if (request.model === 'scripted-condenser') return text('SUMMARY-OF-EARLY-WORK');
        agentCalls += 1;
        return agentCalls > steps
          ? toolCall('finish', { message: 'done' })
          : toolCall('think', { thought: `step ${agentCalls}` });
      },
    });
    const conversation = await open({
      agent: agentFor(llm.baseUrl, {
        condenser: {
          kind: 'LLMSummarizingCondenser',
          llm: {
            model: 'scripted-condenser',
            base_url: llm.baseUrl,
            api_key: 'k',
            usage_id: 'condenser',
          },
          max_size: 10,
          keep_first: 1,
        },
      }),
    });
    await conversation.sendMessage('work for a while');
    expect(await conversation.run()).toBe('finished');
    const condensations = [...conversation.events].filter((event) => event.kind === 'Condensation');
    expect(condensations.length).toBeGreaterThan(0);
    const agentRequests = llm.requests.filter((request) => request.model === 'scripted-model');
    const first = agentRequests.findIndex((request) =>
      JSON.stringify(request.messages).includes('SUMMARY-OF-EARLY-WORK'),
    );
    expect(first).toBeGreaterThan(0);
    expect(agentRequests[first]?.messages.length).toBeLessThan(
      agentRequests[first - 1]?.messages.length ?? 0,
    );
    expect([...conversation.events].filter((event) => event.kind === 'ActionEvent')).toHaveLength(
      steps + 1,
    );
    expect(
      conversation.state.stats.usage_to_metrics.condenser?.accumulated_token_usage?.prompt_tokens,
    ).toBeGreaterThan(0);
    await conversation.close();
  });

  it('a context-window error condenses and retries the step, and the run finishes', async () => {
    await using llm = await startScriptedLLMServer({
      script: [
        toolCall('think', { thought: 'one' }),
        toolCall('think', { thought: 'two' }),
        contextWindowExceeded(),
        text('SUMMARY'),
        toolCall('finish', { message: 'done' }),
      ],
    });
    const conversation = await open({ agent: agentFor(llm.baseUrl) });
    await conversation.sendMessage('go');
    expect(await conversation.run()).toBe('finished');
    expect([...conversation.events].some((event) => event.kind === 'Condensation')).toBe(true);
    expect([...conversation.events].some((event) => event.kind === 'ConversationErrorEvent')).toBe(
      false,
    );
    await conversation.close();
  });
});

describe('stuck detection', () => {
  const failing = { name: 'task_tracker', args: { command: 'explode' } };

  it('stops a run that repeats the same failing action as stuck, after one nudge', async () => {
    await using llm = await startScriptedLLMServer({
      script: [],
      onExhausted: toolCalls([failing]),
    });
    const conversation = await open({ agent: agentFor(llm.baseUrl), maxIterations: 20 });
    await conversation.sendMessage('go');
    expect(await conversation.run()).toBe('stuck');
    const events = timeline(conversation.events);
    expect(
      events.some(
        (event) =>
          event.kind === 'MessageEvent' && JSON.stringify(event).includes('repeating yourself'),
      ),
    ).toBe(true);
    expect(events.at(-1)).toMatchObject({ kind: 'ConversationErrorEvent', code: 'StuckDetected' });
    expect(llm.requests.length).toBeLessThan(20);
    await conversation.close();
  });

  it('runs to max_iterations with stuck detection off', async () => {
    await using llm = await startScriptedLLMServer({
      script: [],
      onExhausted: toolCalls([failing]),
    });
    const conversation = await open({
      agent: agentFor(llm.baseUrl),
      maxIterations: 8,
      stuckDetection: false,
    });
    await conversation.sendMessage('go');
    expect(await conversation.run()).toBe('error');
    expect(timeline(conversation.events).at(-1)).toMatchObject({
      kind: 'ConversationErrorEvent',
      code: 'MaxIterationsReached',
    });
    expect(llm.requests).toHaveLength(8);
    await conversation.close();
  });
});

describe('setAgent', () => {
  it('replaces the agent when compatible and refuses a removed tool', async () => {
    await using llm = await startScriptedLLMServer({
      script: [toolCall('finish', { message: 'done' })],
    });
    const conversation = await open({ agent: agentFor(llm.baseUrl) });
    const plan = await conversation.setAgent(
      agentFor(llm.baseUrl, { llm: { model: 'new-model', base_url: llm.baseUrl, api_key: 'k' } }),
    );
    expect(plan.changes.map((change) => change.path)).toContain('llm.model');
    await conversation.sendMessage('go');
    await conversation.run();
    expect(llm.requests[0]?.model).toBe('new-model');
    await expect(conversation.setAgent(agentFor(llm.baseUrl, { tools: [] }))).rejects.toMatchObject(
      { name: 'ToolsRemovedError', removed: ['task_tracker'] },
    );
    await conversation.close();
  });
});
