import {
  createTemporaryDirectory,
  startScriptedLLMServer,
  toolCall,
} from '@ferry/sdk-core/testing';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ConversationInfo } from './schemas/conversation-schemas';
import type { FerryServer } from './server';
import {
  TEST_API_KEY,
  allEvents,
  scriptedAgent,
  testClient,
  useTestDatabase,
  waitForStatus,
  type EventBody,
} from './test-support';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));
const children: ChildProcess[] = [];

afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await once(child, 'exit');
    }
  }
});

/** Starts `ferry-server` in a child process and resolves with its URL. */
async function startChild(
  dataDir: string,
  extraArgs: readonly string[],
): Promise<{ child: ChildProcess; url: string }> {
  const args = [cli, '--port', '0', '--data-dir', dataDir, ...extraArgs];
  const child = spawn(process.execPath, args, {
    env: { ...process.env, FERRY_API_KEY: TEST_API_KEY },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on (http:\/\/[^\s]+)/.exec(out);
      if (match?.[1]) resolve(match[1]);
    });
    let errors = '';
    child.stderr?.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    child.on('exit', (code) =>
      reject(new Error(`ferry-server exited early with ${code}: ${out}${errors}`)),
    );
  });
  return { child, url };
}

/** Enough of a `FerryServer` for the test client. */
function remote(url: string): FerryServer {
  return { url } as FerryServer;
}

// The same suite on both stores: files under --data-dir, and PostgreSQL with --database-url.
const databaseUrl = useTestDatabase('server_restart');
const stores: {
  name: string;
  args: () => string[];
  /** How a script finds the conversations of `dataDir` (an option of `LocalConversation.open`). */
  storeOption: (dataDir: string) => string;
}[] = [
  {
    name: 'files',
    args: () => [],
    storeOption: (dataDir) => `persistenceDir: ${JSON.stringify(join(dataDir, 'conversations'))}`,
  },
  {
    name: 'PostgreSQL',
    args: () => ['--database-url', databaseUrl()],
    storeOption: () =>
      `store: await PostgresStore.connect({ connectionString: ${JSON.stringify(databaseUrl())} })`,
  },
];

/**
 * Opens conversation `id` in another process, sets it `running` and SIGKILLs that process: the
 * window a crash can hit between a run's last event and its status write (the lease is left
 * behind, as a dead server leaves it).
 */
async function crashWhileRunning(storeOption: string, id: string, workingDir: string) {
  const script = `
    import { LocalConversation } from '@ferry/sdk-core';
    import { PostgresStore } from '@ferry/store-postgres';
    const conversation = await LocalConversation.open({
      ${storeOption},
      conversationId: ${JSON.stringify(id)},
      workspace: { kind: 'LocalWorkspace', workingDir: ${JSON.stringify(workingDir)} },
    });
    await conversation.updateState({ execution_status: 'running' });
    process.kill(process.pid, 'SIGKILL');
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const [, signal] = (await once(child, 'exit')) as [number | null, string | null];
  expect(signal).toBe('SIGKILL');
}

/** A scripted LLM whose first step sleeps in the terminal (killed mid-way), then finishes. */
function sleepThenFinish() {
  return startScriptedLLMServer({
    script: [
      toolCall('terminal', { command: 'sleep 30', timeout: 60 }),
      toolCall('finish', { message: 'done after the restart' }),
    ],
  });
}

describe.each(stores)('restart in the middle of a run ($name)', ({ args, storeOption }) => {
  it('does not run again a run whose agent had finished when the server died before writing its status', async () => {
    await using dir = await createTemporaryDirectory();
    await using llm = await startScriptedLLMServer({
      script: [toolCall('finish', { message: 'done once' })],
    });
    const dataDir = join(dir.path, 'data');
    const first = await startChild(dataDir, args());
    const client = testClient(remote(first.url));
    const created = await client.request<ConversationInfo>('POST', '/api/conversations', {
      body: {
        agent: scriptedAgent(llm),
        initial_message: { content: [{ type: 'text', text: 'Finish.' }], run: true },
      },
    });
    const id = created.body.id;
    await waitForStatus(client, id, ['finished']);
    first.child.kill('SIGTERM');
    await once(first.child, 'exit');
    // The finish observed and logged, the state still `running`, the owner gone.
    await crashWhileRunning(storeOption(dataDir), id, dir.path);

    const second = await startChild(dataDir, args());
    const after = testClient(remote(second.url));
    const recovered = await waitForStatus(after, id, ['finished', 'error']);
    expect(recovered.execution_status).toBe('finished');
    const events = await allEvents(after, id);
    const finishes = events.filter(
      (event: EventBody) => event.kind === 'ObservationEvent' && event.tool_name === 'finish',
    );
    expect(finishes).toHaveLength(1);
    expect(events.some((event: EventBody) => event.kind === 'AgentErrorEvent')).toBe(false);
    expect(llm.requests).toHaveLength(1);
    second.child.kill('SIGTERM');
    await once(second.child, 'exit');
  }, 60_000);

  it('with --no-continue-runs: recovers the conversation as error with the action answered, and runs it on to finished when asked', async () => {
    await using dir = await createTemporaryDirectory();
    await using llm = await sleepThenFinish();
    const dataDir = join(dir.path, 'data');

    const first = await startChild(dataDir, [...args(), '--no-continue-runs']);
    const client = testClient(remote(first.url));
    const created = await client.request<ConversationInfo>('POST', '/api/conversations', {
      body: {
        agent: scriptedAgent(llm, { tools: ['terminal'] }),
        initial_message: { content: [{ type: 'text', text: 'Sleep, then finish.' }], run: true },
      },
    });
    expect(created.status).toBe(201);
    const id = created.body.id;
    const action = await vi.waitFor(
      async () => {
        const events = await allEvents(client, id);
        const found = events.find((event) => event.kind === 'ActionEvent');
        if (found === undefined) throw new Error('no action yet');
        return found;
      },
      { timeout: 20_000, interval: 20 },
    );
    const before = await allEvents(client, id);
    first.child.kill('SIGKILL');
    await once(first.child, 'exit');

    const second = await startChild(dataDir, [...args(), '--no-continue-runs']);
    const after = testClient(remote(second.url));
    const recovered = await after.request<ConversationInfo>('GET', `/api/conversations/${id}`);
    expect(recovered.body.execution_status).toBe('error');
    const events = await allEvents(after, id);
    expect(events.slice(0, before.length)).toEqual(before);
    const answer = events.find(
      (event: EventBody) =>
        event.kind === 'AgentErrorEvent' && event.tool_call_id === action.tool_call_id,
    );
    expect(answer).toBeDefined();

    expect((await after.request('POST', `/api/conversations/${id}/run`)).status).toBe(200);
    const finished = await waitForStatus(after, id, ['finished']);
    expect(finished.execution_status).toBe('finished');
    expect(llm.requests).toHaveLength(2);

    second.child.kill('SIGTERM');
    const [code] = (await once(second.child, 'exit')) as [number | null];
    expect(code).toBe(0);
  }, 60_000);

  it('continues the interrupted run by itself after the restart, the interruption recorded', async () => {
    await using dir = await createTemporaryDirectory();
    await using llm = await sleepThenFinish();
    const dataDir = join(dir.path, 'data');
    const first = await startChild(dataDir, args());
    const client = testClient(remote(first.url));
    const created = await client.request<ConversationInfo>('POST', '/api/conversations', {
      body: {
        agent: scriptedAgent(llm, { tools: ['terminal'] }),
        initial_message: { content: [{ type: 'text', text: 'Sleep, then finish.' }], run: true },
      },
    });
    const id = created.body.id;
    const action = await vi.waitFor(
      async () => {
        const found = (await allEvents(client, id)).find((event) => event.kind === 'ActionEvent');
        if (found === undefined) throw new Error('no action yet');
        return found;
      },
      { timeout: 20_000, interval: 20 },
    );
    first.child.kill('SIGKILL');
    await once(first.child, 'exit');

    const second = await startChild(dataDir, args());
    const after = testClient(remote(second.url));
    const finished = await waitForStatus(after, id, ['finished']);
    expect(finished.execution_status).toBe('finished');
    const events = await allEvents(after, id);
    const answerAt = events.findIndex(
      (event: EventBody) =>
        event.kind === 'AgentErrorEvent' && event.tool_call_id === action.tool_call_id,
    );
    expect(answerAt).toBeGreaterThan(events.indexOf(action));
    expect(events.at(-1)?.kind).not.toBe('AgentErrorEvent');
    expect(llm.requests).toHaveLength(2);
    second.child.kill('SIGTERM');
    await once(second.child, 'exit');
  }, 60_000);
});
