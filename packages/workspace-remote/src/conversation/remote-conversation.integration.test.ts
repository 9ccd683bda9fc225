import {
  AgentKindMismatchError,
  ConversationClosedError,
  ToolsRemovedError,
  type AgentInput,
  type AnyEvent,
  type StoredEvent,
} from '@ferry/sdk-core';
import {
  createTemporaryDirectory,
  startScriptedLLMServer,
  text,
  toolCall,
  type ScriptedLLMServer,
  type TemporaryDirectory,
} from '@ferry/sdk-core/testing';
import { startServer, type FerryServer } from '@ferry/server';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RemoteConversation } from './remote-conversation';

const API_KEY = 'remote-conversation-key';

function agentFor(llm: ScriptedLLMServer, model = 'openai/model-a'): AgentInput {
  return {
    llm: { model, base_url: llm.baseUrl, api_key: 'sk-scripted', num_retries: 0 },
    tools: [{ name: 'terminal' }, { name: 'file_editor' }],
  };
}

/** Every event of the conversation exactly as the server stores it, in order. */
async function serverEvents(server: FerryServer, id: string): Promise<StoredEvent[]> {
  const events: StoredEvent[] = [];
  let pageId: string | undefined;
  do {
    const url = new URL(`${server.url}/api/conversations/${id}/events/search`);
    url.searchParams.set('limit', '100');
    url.searchParams.set('ferry_events', 'full');
    if (pageId !== undefined) url.searchParams.set('page_id', pageId);
    const response = await fetch(url, { headers: { 'X-Session-API-Key': API_KEY } });
    const page = (await response.json()) as { items: StoredEvent[]; next_page_id: string | null };
    events.push(...page.items);
    pageId = page.next_page_id ?? undefined;
  } while (pageId !== undefined);
  return events;
}

const ids = (events: Iterable<{ id: string }>) => [...events].map((event) => event.id);

describe('RemoteConversation against a real ferry server', () => {
  let dir: TemporaryDirectory;
  let server: FerryServer;

  beforeEach(async () => {
    dir = await createTemporaryDirectory({ prefix: 'ferry-remote-conversation-' });
    server = await startServer({
      host: '127.0.0.1',
      port: 0,
      dataDir: join(dir.path, 'data'),
      workspaceRoot: join(dir.path, 'root'),
      apiKey: API_KEY,
    });
  });

  afterEach(async () => {
    await server.close();
    await dir.remove();
  });

  it('creates a conversation, runs it to finished and holds every event once, in order', async () => {
    await using llm = await startScriptedLLMServer({
      script: [
        toolCall('terminal', { command: 'echo hello > greeting.txt' }),
        text('The greeting is written.'),
      ],
    });
    const seen: AnyEvent[] = [];
    await using conversation = await RemoteConversation.create({
      host: server.url,
      apiKey: API_KEY,
      agent: agentFor(llm),
      onEvent: (event) => seen.push(event),
    });
    const iterator = conversation[Symbol.asyncIterator]();

    const message = await conversation.sendMessage('Write a greeting.');
    expect(conversation.events.get(message.id)).toMatchObject({ kind: 'MessageEvent' });
    expect(await conversation.run()).toBe('finished');
    expect(conversation.status).toBe('finished');
    expect(conversation.state.execution_status).toBe('finished');

    const onServer = await serverEvents(server, conversation.id);
    expect(ids(conversation.events)).toEqual(ids(onServer));
    expect(conversation.events.raw()).toEqual(onServer);
    // Ferry's own fields reach Ferry's client (OpenHands' routes leave them out by default).
    expect(conversation.events.raw().some((event) => 'llm_provider' in event)).toBe(true);
    expect(ids(seen)).toEqual(ids(onServer));
    expect(conversation.events.at(-1)).toMatchObject({
      kind: 'ConversationStateUpdateEvent',
      key: 'execution_status',
      value: 'finished',
    });
    const first = await iterator.next();
    expect(first.value).toEqual(seen[0]);

    const greeting = await conversation.workspace.readFile('greeting.txt');
    expect(new TextDecoder().decode(greeting)).toBe('hello\n');
  });

  it('loses no event and duplicates none when the server drops the WebSocket mid-run', async () => {
    // `websocketServer` is added to Fastify by @fastify/websocket, the server's dependency.
    const sockets = server.app as unknown as {
      websocketServer: { clients: Set<{ terminate(): void }> };
    };
    const dropSockets = () => {
      for (const client of sockets.websocketServer.clients) client.terminate();
    };
    await using llm = await startScriptedLLMServer({
      respond: (_request, index) => {
        // Cut the socket while the run is going, twice, at different steps.
        if (index === 1 || index === 2) dropSockets();
        return index < 3 ? toolCall('terminal', { command: `echo step ${index}` }) : text('done');
      },
    });
    const conversation = await RemoteConversation.create({
      host: server.url,
      apiKey: API_KEY,
      agent: agentFor(llm),
    });
    await conversation.sendMessage('Take a few steps.');
    expect(await conversation.run()).toBe('finished');

    const onServer = await serverEvents(server, conversation.id);
    expect(ids(conversation.events)).toEqual(ids(onServer));
    expect(new Set(ids(conversation.events)).size).toBe(onServer.length);
    expect(conversation.socketConnections).toBeGreaterThanOrEqual(3);
    await conversation.close();
  });

  it('attaches to an existing conversation with its whole history, and with a new model', async () => {
    await using llm = await startScriptedLLMServer({
      script: [text('first answer'), text('second answer')],
    });
    const created = await RemoteConversation.create({
      host: server.url,
      apiKey: API_KEY,
      agent: agentFor(llm, 'openai/model-a'),
    });
    await created.sendMessage('One');
    expect(await created.run()).toBe('finished');
    const history = ids(created.events);
    await created.close();

    await using attached = await RemoteConversation.attach({
      host: server.url,
      apiKey: API_KEY,
      conversationId: created.id,
      agent: agentFor(llm, 'openai/model-b'),
    });
    expect(ids(attached.events).slice(0, history.length)).toEqual(history);
    expect(attached.events.at(-1)).toMatchObject({
      kind: 'ConversationStateUpdateEvent',
      key: 'agent',
    });
    expect(attached.state.agent.llm.model).toBe('openai/model-b');
    await attached.sendMessage('Two');
    expect(await attached.run()).toBe('finished');
    expect(llm.requests.map((request) => request.model)).toEqual(['model-a', 'model-b']);
  });

  it('refuses an agent that removes a tool or changes kind, with the typed errors', async () => {
    await using llm = await startScriptedLLMServer({ script: [] });
    await using created = await RemoteConversation.create({
      host: server.url,
      apiKey: API_KEY,
      agent: agentFor(llm),
    });
    const attach = (agent: AgentInput) =>
      RemoteConversation.attach({
        host: server.url,
        apiKey: API_KEY,
        conversationId: created.id,
        agent,
      });

    const withoutEditor = { ...agentFor(llm), tools: [{ name: 'terminal' }] };
    const removed = await attach(withoutEditor).catch((error: unknown) => error);
    expect(ToolsRemovedError.isInstance(removed)).toBe(true);
    expect((removed as ToolsRemovedError).removed).toEqual(['file_editor']);

    const otherKind = { ...agentFor(llm), kind: 'OtherAgent' } as AgentInput;
    const mismatch = await attach(otherKind).catch((error: unknown) => error);
    expect(AgentKindMismatchError.isInstance(mismatch)).toBe(true);
  });

  it('waits for confirmation, then runs the accepted action to the end', async () => {
    await using llm = await startScriptedLLMServer({
      script: [toolCall('terminal', { command: 'echo confirmed' }), text('all done')],
    });
    await using conversation = await RemoteConversation.create({
      host: server.url,
      apiKey: API_KEY,
      agent: agentFor(llm),
      confirmationPolicy: { kind: 'AlwaysConfirm' },
    });
    await conversation.sendMessage('Run something.');
    expect(await conversation.run()).toBe('waiting_for_confirmation');
    expect(await conversation.respondToConfirmation({ accept: true })).toBe('finished');
    const observation = [...conversation.events].find((event) => event.kind === 'ObservationEvent');
    expect(JSON.stringify(observation)).toContain('confirmed');
  });

  it('interrupts a run in flight and resolves run() with paused', async () => {
    let llmCalled: () => void = () => undefined;
    const called = new Promise<void>((resolve) => (llmCalled = resolve));
    await using llm = await startScriptedLLMServer({
      respond: () => {
        llmCalled();
        return text('too late', { delayMs: 120_000 });
      },
    });
    await using conversation = await RemoteConversation.create({
      host: server.url,
      apiKey: API_KEY,
      agent: agentFor(llm),
    });
    await conversation.sendMessage('Think for a long time.');
    const run = conversation.run();
    await called;
    await conversation.interrupt();
    expect(conversation.status).toBe('paused');
    expect(await run).toBe('paused');
  });

  it('refuses calls after close()', async () => {
    await using llm = await startScriptedLLMServer({ script: [] });
    const conversation = await RemoteConversation.create({
      host: server.url,
      apiKey: API_KEY,
      agent: agentFor(llm),
    });
    await conversation.close();
    expect(() => conversation.run()).toThrow(ConversationClosedError);
    await expect(conversation.sendMessage('late')).rejects.toSatisfy((error) =>
      ConversationClosedError.isInstance(error),
    );
  });
});
