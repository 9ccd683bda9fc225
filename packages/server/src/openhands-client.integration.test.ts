import {
  createTemporaryDirectory,
  startScriptedLLMServer,
  toolCall,
  type ScriptTurn,
} from '@ferry/sdk-core/testing';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { startTestServer, TEST_API_KEY } from './test-support';

// The client picks its WebSocket implementation with `require('ws')`, which an ES module does
// not have on Node 20 (no global WebSocket either). Lending it `require` leaves the client as
// published; browsers and Node 22 take their global WebSocket instead.
(globalThis as { require?: NodeJS.Require }).require ??= createRequire(import.meta.url);
const { Agent, RemoteConversation, RemoteWorkspace } = await import('@openhands/typescript-client');

type ClientEvent = { id: string; kind: string; key?: string; value?: unknown };

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A scripted LLM and a ferry-server, both closed after the test. */
async function serve(script: ScriptTurn[]) {
  const dir = await createTemporaryDirectory();
  cleanups.push(() => dir.remove());
  const llm = await startScriptedLLMServer({ script });
  cleanups.push(() => llm.close());
  const server = await startTestServer(cleanups, {
    dataDir: join(dir.path, 'data'),
    workspaceRoot: join(dir.path, 'workspaces'),
  });
  return { llm, server };
}

describe('@openhands/typescript-client against ferry-server', () => {
  it('creates, runs to finished over its WebSocket, uses the workspace, pauses and attaches', async () => {
    const { llm, server } = await serve([
      toolCall('terminal', { command: 'echo from-the-agent > agent.txt' }),
      toolCall('finish', { message: 'done' }),
    ]);
    const workingDir = join(server.workspaceRoot, 'project');

    const workspace = new RemoteWorkspace({ host: server.url, workingDir, apiKey: TEST_API_KEY });
    const agent = new Agent({
      llm: { model: 'scripted', base_url: llm.baseUrl, api_key: 'sk-test-openhands-client' },
      tools: [{ name: 'terminal' }],
    });
    const received: ClientEvent[] = [];
    const errors: Error[] = [];
    const conversation = new RemoteConversation(agent, workspace, {
      callback: (event) => received.push(event),
      onError: (error) => errors.push(error),
    });
    cleanups.push(() => conversation.close());

    await conversation.start({ initialMessage: 'Write agent.txt, then finish.' });
    const id = conversation.id;
    await conversation.startWebSocketClient();
    await vi.waitFor(() => expect(server.conversations.subscriberCount(id)).toBe(1));

    await conversation.run();
    await vi.waitFor(
      () => {
        const finished = received.some(
          (event) => event.key === 'execution_status' && event.value === 'finished',
        );
        if (!finished) throw new Error('not finished yet');
      },
      { timeout: 30_000, interval: 20 },
    );
    expect(errors).toEqual([]);
    // As from OpenHands' server: the state snapshot first.
    expect(received[0]).toMatchObject({ kind: 'ConversationStateUpdateEvent', key: 'full_state' });
    expect(received.map((event) => event.kind)).toEqual(
      expect.arrayContaining(['ActionEvent', 'ObservationEvent']),
    );
    expect(await conversation.state.refresh()).toMatchObject({ execution_status: 'finished' });
    const agentSeen = await conversation.state.getAgent();
    expect(JSON.stringify(agentSeen)).not.toContain('sk-test-openhands-client');

    const command = await workspace.executeCommand('cat agent.txt', workingDir);
    expect(command.exit_code).toBe(0);
    expect(command.stdout.trim()).toBe('from-the-agent');
    const upload = await workspace.fileUpload('uploaded text\n', join(workingDir, 'notes/up.txt'));
    expect(upload.success).toBe(true);
    expect(await workspace.downloadAsText(join(workingDir, 'notes/up.txt'))).toBe(
      'uploaded text\n',
    );

    await conversation.pause();
    expect(await conversation.state.refresh()).toMatchObject({ execution_status: 'paused' });

    const attached = new RemoteConversation(agent, workspace, { conversationId: id });
    cleanups.push(() => attached.close());
    await attached.start();
    const history = (await attached.state.events.getEvents()) as ClientEvent[];
    const live = new Set(
      received.filter((event) => event.key !== 'full_state').map((event) => event.id),
    );
    expect(history.filter((event) => live.has(event.id))).toHaveLength(live.size);
    expect(await attached.state.getExecutionStatus()).toBe('paused');
  });

  it('delivers every event of a run to a client that ran a command first and subscribed without waiting', async () => {
    const { llm, server } = await serve([
      toolCall('terminal', { command: 'echo hi' }),
      toolCall('finish', { message: 'done' }),
    ]);
    const workingDir = join(server.workspaceRoot, 'project');
    const workspace = new RemoteWorkspace({ host: server.url, workingDir, apiKey: TEST_API_KEY });
    expect((await workspace.executeCommand(`mkdir -p ${workingDir}`)).exit_code).toBe(0);

    const agent = new Agent({
      llm: { model: 'scripted', base_url: llm.baseUrl, api_key: 'sk-test-openhands-client' },
      tools: [{ name: 'terminal' }],
    });
    const received: ClientEvent[] = [];
    const conversation = new RemoteConversation(agent, workspace, {
      callback: (event) => received.push(event),
    });
    cleanups.push(() => conversation.close());
    await conversation.start({ initialMessage: 'Say hi.' });
    const before = (await conversation.state.events.getEvents()) as ClientEvent[];
    await conversation.startWebSocketClient();
    await conversation.run();

    await vi.waitFor(
      () => {
        if (!received.some((event) => event.value === 'finished')) throw new Error('not finished');
      },
      { timeout: 30_000, interval: 20 },
    );
    // The client keeps the snapshot its socket received among the events; it is not in the log.
    const log = ((await conversation.state.events.getEvents()) as ClientEvent[]).filter(
      (event) => event.key !== 'full_state',
    );
    const run = log.slice(before.length).map((event) => event.id);
    expect(run.length).toBeGreaterThanOrEqual(8);
    const stored = received.filter((event) => event.key !== 'full_state');
    expect(stored.map((event) => event.id)).toEqual(run);
  });
});
