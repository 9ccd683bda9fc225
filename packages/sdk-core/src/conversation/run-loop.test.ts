import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import type { AgentInput } from '../agent/agent-schema';
import { isKnownEvent, type AnyEvent } from '../event/parse-event';
import { InMemoryFileStore } from '../persistence/in-memory-file-store';
import { startScriptedLLMServer, text, toolCall, toolCalls, httpError } from '../testing/index';
import { defineTool } from '../tool/tool-definition';
import { openInMemory, timeline } from './test-support';

function agentFor(baseUrl: string, extra: Partial<AgentInput> = {}): AgentInput {
  return {
    llm: {
      model: 'scripted-model',
      base_url: baseUrl,
      api_key: 'sk-test-key',
      temperature: 0,
      num_retries: 2,
    },
    tools: [{ name: 'task_tracker' }],
    ...extra,
  };
}

const open = openInMemory;

const kinds = (events: Iterable<AnyEvent>) => timeline(events).map((event) => event.kind);

/** Every tool call of every assistant message is answered by a tool message right after it. */
function expectValidHistory(
  messages: readonly { role: string; tool_calls?: unknown; tool_call_id?: unknown }[],
) {
  for (let index = 0; index < messages.length; index += 1) {
    const message = messages[index];
    const calls = (message?.tool_calls ?? []) as { id: string }[];
    calls.forEach((call, offset) => {
      expect(messages[index + 1 + offset], `answer to ${call.id}`).toMatchObject({
        role: 'tool',
        tool_call_id: call.id,
      });
    });
  }
}

describe('run loop', () => {
  it('runs think, task_tracker and finish to finished, with the events in order and the tokens in stats', async () => {
    await using llm = await startScriptedLLMServer({
      script: [
        toolCall(
          'think',
          { thought: 'Plan first.' },
          { usage: { promptTokens: 100, completionTokens: 10 } },
        ),
        toolCall(
          'task_tracker',
          { command: 'plan', task_list: [{ title: 'write code', status: 'in_progress' }] },
          { usage: { promptTokens: 200, completionTokens: 20 } },
        ),
        toolCall(
          'finish',
          { message: 'All done.' },
          { usage: { promptTokens: 300, completionTokens: 30 } },
        ),
      ],
    });
    const store = new InMemoryFileStore();
    const conversation = await open({ agent: agentFor(llm.baseUrl), store });
    await conversation.sendMessage('Please plan and finish.');
    expect(await conversation.run()).toBe('finished');
    expect(kinds(conversation.events)).toEqual([
      'MessageEvent',
      'ActionEvent',
      'ObservationEvent',
      'ActionEvent',
      'ObservationEvent',
      'ActionEvent',
      'ObservationEvent',
    ]);
    expect(
      conversation.state.stats.usage_to_metrics.default?.accumulated_token_usage,
    ).toMatchObject({
      prompt_tokens: 600,
      completion_tokens: 60,
    });
    expect(await store.readText(`${conversation.id.replaceAll('-', '')}/TASKS.json`)).toContain(
      'write code',
    );
    const finish = timeline(conversation.events).at(-1);
    expect(finish).toMatchObject({
      kind: 'ObservationEvent',
      observation: { kind: 'FinishObservation' },
    });
    expect(llm.requests[0]?.tools?.map((tool) => tool.function?.name).sort()).toEqual([
      'finish',
      'task_tracker',
      'think',
    ]);
    expectValidHistory(llm.requests[2]?.messages ?? []);
    await conversation.close();
  });

  it('ends the run on a reply without tool calls', async () => {
    await using llm = await startScriptedLLMServer({ script: [text('Hello there!')] });
    const conversation = await open({ agent: agentFor(llm.baseUrl) });
    await conversation.sendMessage('hi');
    expect(await conversation.run()).toBe('finished');
    expect(timeline(conversation.events).at(-1)).toMatchObject({
      kind: 'MessageEvent',
      llm_message: { role: 'assistant' },
    });
    await conversation.close();
  });

  it('continues after a reopen with a new model, temperature and system-message suffix', async () => {
    await using llm = await startScriptedLLMServer({
      script: [toolCall('think', { thought: 'step one' }), toolCall('finish', { message: 'done' })],
    });
    const store = new InMemoryFileStore();
    const first = await open({ agent: agentFor(llm.baseUrl), store });
    first.onEvent((event) => {
      if (event.kind === 'ObservationEvent') void first.pause();
    });
    await first.sendMessage('Do the task.');
    expect(await first.run()).toBe('paused');
    await first.close();

    const second = await open({
      store,
      conversationId: first.id,
      agent: agentFor(llm.baseUrl, {
        llm: {
          model: 'another-model',
          base_url: llm.baseUrl,
          api_key: 'sk-test-key',
          temperature: 0.7,
        },
        agent_context: { system_message_suffix: 'SUFFIX-FROM-THE-NEW-AGENT' },
      }),
    });
    expect(await second.run()).toBe('finished');
    const request = llm.requests[1];
    expect(request).toMatchObject({ model: 'another-model', temperature: 0.7 });
    expect(JSON.stringify(request?.messages[0])).toContain('SUFFIX-FROM-THE-NEW-AGENT');
    const roles = request?.messages.map((message) => message.role);
    expect(roles).toEqual(['system', 'user', 'assistant', 'tool']);
    expectValidHistory(request?.messages ?? []);
    await second.close();
  });

  it('answers invalid arguments, an unknown tool and a throwing tool with errors, and still finishes', async () => {
    const broken = defineTool({
      name: 'broken',
      description: 'always fails',
      parameters: z.object({}),
      actionKind: 'BrokenAction',
      observationKind: 'BrokenObservation',
      execute: () => Promise.reject(new Error('disk on fire')),
    });
    await using llm = await startScriptedLLMServer({
      script: [
        toolCalls([
          { name: 'think', args: '{"thought": "unterminated' },
          { name: 'no_such_tool', args: {} },
          { name: 'broken', args: {} },
        ]),
        toolCall('finish', { message: 'recovered' }),
      ],
    });
    const conversation = await open({
      agent: agentFor(llm.baseUrl, { tools: [{ name: 'broken' }] }),
      tools: [broken],
    });
    await conversation.sendMessage('go');
    expect(await conversation.run()).toBe('finished');
    const errors = [...conversation.events].filter((event) => event.kind === 'AgentErrorEvent');
    expect(
      errors.map((event) => isKnownEvent(event) && event.kind === 'AgentErrorEvent' && event.error),
    ).toEqual([
      expect.stringMatching(/not valid JSON/),
      expect.stringMatching(/"no_such_tool" does not exist/),
      expect.stringMatching(/disk on fire/),
    ]);
    const next = llm.requests[1]?.messages ?? [];
    expectValidHistory(next);
    expect(next.filter((message) => message.role === 'tool')).toHaveLength(3);
    await conversation.close();
  });

  it('stops after the current step on pause() during a slow LLM turn', async () => {
    await using llm = await startScriptedLLMServer({
      script: [
        toolCall('think', { thought: 'slow' }, { delayMs: 300 }),
        toolCall('finish', { message: 'never' }),
      ],
    });
    const conversation = await open({ agent: agentFor(llm.baseUrl) });
    await conversation.sendMessage('go');
    const run = conversation.run();
    await llm.waitForRequest(1);
    await conversation.pause();
    expect(await run).toBe('paused');
    expect(llm.requests).toHaveLength(1);
    expect(conversation.events.at(-1)?.kind).not.toBe('ActionEvent');
    expect(kinds(conversation.events)).toEqual([
      'MessageEvent',
      'PauseEvent',
      'ActionEvent',
      'ObservationEvent',
    ]);
    await conversation.close();
  });

  it('aborts the LLM call at once on interrupt()', async () => {
    await using llm = await startScriptedLLMServer({
      script: [toolCall('think', { thought: 'never' }, { delayMs: 60_000 })],
    });
    const conversation = await open({ agent: agentFor(llm.baseUrl) });
    await conversation.sendMessage('go');
    const run = conversation.run();
    await llm.waitForRequest(1);
    await conversation.interrupt();
    expect(await run).toBe('paused');
    expect(conversation.state.execution_status).toBe('paused');
    expect(kinds(conversation.events)).toEqual(['MessageEvent', 'InterruptEvent']);
    // As OpenHands records it: the status becomes paused, then the InterruptEvent.
    const events = [...conversation.events];
    const last = events.at(-1);
    expect(last).toMatchObject({ kind: 'InterruptEvent', source: 'user' });
    expect(events.at(-2)).toMatchObject({ key: 'execution_status', value: 'paused' });
    expect(isKnownEvent(last as AnyEvent)).toBe(true);
    await conversation.close();
  });

  it('keeps the InterruptEvent as a known event when the conversation is opened again', async () => {
    await using llm = await startScriptedLLMServer({
      script: [toolCall('think', { thought: 'never' }, { delayMs: 60_000 })],
    });
    const store = new InMemoryFileStore();
    const conversation = await open({ agent: agentFor(llm.baseUrl), store });
    await conversation.sendMessage('go');
    const run = conversation.run();
    await llm.waitForRequest(1);
    await conversation.interrupt();
    await run;
    const id = conversation.id;
    await conversation.close();
    const reopened = await open({ agent: agentFor(llm.baseUrl), store, conversationId: id });
    const interrupt = [...reopened.events].find((event) => event.kind === 'InterruptEvent');
    expect(interrupt).toMatchObject({ kind: 'InterruptEvent', source: 'user' });
    expect(isKnownEvent(interrupt as AnyEvent)).toBe(true);
    await reopened.close();
  });

  it('ends in error with MaxIterationsReached', async () => {
    await using llm = await startScriptedLLMServer({
      script: [],
      onExhausted: toolCall('think', { thought: 'again' }),
    });
    const conversation = await open({ agent: agentFor(llm.baseUrl), maxIterations: 3 });
    await conversation.sendMessage('loop forever');
    expect(await conversation.run()).toBe('error');
    expect(timeline(conversation.events).at(-1)).toMatchObject({
      kind: 'ConversationErrorEvent',
      code: 'MaxIterationsReached',
    });
    expect(llm.requests).toHaveLength(3);
    await conversation.close();
  });

  it('retries a 429 transparently', async () => {
    await using llm = await startScriptedLLMServer({
      script: [
        httpError(429, { message: 'slow down', retryAfter: 0 }),
        toolCall('finish', { message: 'ok' }),
      ],
    });
    const conversation = await open({ agent: agentFor(llm.baseUrl) });
    await conversation.sendMessage('go');
    expect(await conversation.run()).toBe('finished');
    expect(llm.requests).toHaveLength(2);
    expect([...conversation.events].some((event) => event.kind === 'ConversationErrorEvent')).toBe(
      false,
    );
    await conversation.close();
  });

  it('records a provider failure as a ConversationErrorEvent and throws a typed error', async () => {
    await using llm = await startScriptedLLMServer({
      script: [httpError(401, { message: 'bad key sk-test-key' })],
    });
    const conversation = await open({ agent: agentFor(llm.baseUrl) });
    await conversation.sendMessage('go');
    await expect(conversation.run()).rejects.toMatchObject({ name: 'LLMAuthenticationError' });
    expect(conversation.state.execution_status).toBe('error');
    const error = timeline(conversation.events).at(-1);
    expect(error).toMatchObject({ kind: 'ConversationErrorEvent' });
    expect(JSON.stringify(error)).not.toContain('sk-test-key');
    await conversation.close();
  });

  it('leaves reasoning out of the request when the provider changes', async () => {
    await using first = await startScriptedLLMServer({
      script: [
        toolCall('think', { thought: 'x' }, { reasoning: 'PRIVATE-REASONING' }),
        toolCall('think', { thought: 'y' }),
      ],
    });
    await using second = await startScriptedLLMServer({
      script: [toolCall('finish', { message: 'done' })],
    });
    const store = new InMemoryFileStore();
    const a = await open({ agent: agentFor(first.baseUrl), store, maxIterations: 2 });
    await a.sendMessage('go');
    expect(await a.run()).toBe('error'); // two steps, then the limit
    // the same provider gets its reasoning back
    expect(JSON.stringify(first.requests[1]?.messages)).toContain('PRIVATE-REASONING');
    await a.close();

    const b = await open({ agent: agentFor(second.baseUrl), store, conversationId: a.id });
    expect(await b.run()).toBe('finished');
    expect(JSON.stringify(second.requests[0]?.messages)).not.toContain('PRIVATE-REASONING');
    expectValidHistory(second.requests[0]?.messages ?? []);
    await b.close();
  });

  it('delivers events to onEvent and to async iterators after they are in the log', async () => {
    await using llm = await startScriptedLLMServer({
      script: [toolCall('finish', { message: 'done' })],
    });
    const seen: string[] = [];
    const conversation = await open({
      agent: agentFor(llm.baseUrl),
      onEvent: (event) => {
        expect(conversation.events.has(event.id)).toBe(true);
        seen.push(event.kind);
      },
    });
    const iterated: string[] = [];
    const reading = (async () => {
      for await (const event of conversation) iterated.push(event.kind);
    })();
    await conversation.sendMessage('go');
    await conversation.run();
    await conversation.close();
    await reading;
    expect(iterated).toEqual(seen);
    expect(seen).toContain('ObservationEvent');
  });
});
