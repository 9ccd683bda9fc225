import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConversationLockedError,
  LocalConversation,
  conversationFolderName,
  conversationStateSchema,
  type AgentInput,
} from '@ferry/sdk-core';
import {
  createTemporaryDirectory,
  startScriptedLLMServer,
  type ScriptedLLMServer,
  type TemporaryDirectory,
} from '@ferry/sdk-core/testing';
import { startServer, type FerryServer } from '@ferry/server';
import { LocalWorkspace } from '@ferry/workspace-local';
import { duplicateIds, historyProblems } from './conversation-checks';
import { randomInt, seededRandom } from './seeded-random';
import {
  allEvents,
  call,
  conversationInfo,
  expectStatus,
  userMessageTexts,
  waitForStatus,
  type Answer,
} from './server-http';
import { TASK_TOOLS, taskTurn } from './task-script';

const CHILD = fileURLToPath(new URL('./concurrency-child.js', import.meta.url));
const TASK = 'Write a.txt and b.txt, check them, and finish.';
const RACE_ROUNDS = 6;
const RACERS = 4;
const API_CALLS = Number(process.env.FERRY_CONCURRENCY_CALLS ?? 200);
const API_SEED = Number(process.env.FERRY_CONCURRENCY_SEED ?? 20_261_123);
/** Calls in flight at once during the random API storm. */
const IN_FLIGHT = 12;

let llm: ScriptedLLMServer;
let temporary: TemporaryDirectory;
let counter = 0;
const figures = { processRaces: 0, refusedOpens: 0, serverRefusals: 0, apiCalls: 0 };

beforeAll(async () => {
  llm = await startScriptedLLMServer({ respond: (request) => taskTurn(request) });
  temporary = await createTemporaryDirectory();
});
afterAll(async () => {
  console.info(
    `concurrency: ${figures.processRaces} races of ${RACERS} processes (${figures.refusedOpens} ` +
      `opens refused), ${figures.serverRefusals} requests refused by a second server, ` +
      `${figures.apiCalls} concurrent API calls on one conversation (seed ${API_SEED})`,
  );
  await llm?.close();
  await temporary?.[Symbol.asyncDispose]();
});

function agent(model = 'concurrency-model'): AgentInput {
  return {
    llm: { model, base_url: llm.baseUrl, api_key: 'concurrency-key', usage_id: 'concurrency' },
    tools: TASK_TOOLS,
  };
}

function message(text: string, run = false) {
  return { role: 'user', content: [{ type: 'text', text }], run };
}

function folders() {
  counter += 1;
  const root = join(temporary.path, `case-${counter}`);
  return { data: join(root, 'data'), work: join(root, 'work') };
}

/** A child process opening a conversation, and the lines it printed. */
interface Child {
  process: ChildProcessWithoutNullStreams;
  /** Resolves with the first line that starts with one of `prefixes` (rejects when it exits first). */
  line(...prefixes: string[]): Promise<string>;
  exited: Promise<number | null>;
}

function spawnChild(data: string, work: string, id: string, text: string): Child {
  const child = spawn(process.execPath, [CHILD, data, work, id, text], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  const waiters: (() => void)[] = [];
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  createInterface({ input: child.stdout }).on('line', (line) => {
    lines.push(line);
    for (const wake of waiters.splice(0)) wake();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  void exited.then(() => {
    for (const wake of waiters.splice(0)) wake();
  });
  let done = false;
  void exited.then(() => (done = true));
  return {
    process: child,
    exited,
    async line(...prefixes) {
      for (;;) {
        const found = lines.find((line) => prefixes.some((prefix) => line.startsWith(prefix)));
        if (found !== undefined) return found;
        if (done) throw new Error(`child exited without ${prefixes.join('/')}: ${stderr}`);
        await new Promise<void>((resolve) => waiters.push(resolve));
      }
    },
  };
}

/** Creates a conversation with the task on disk and closes it. */
async function createConversation(data: string, work: string): Promise<string> {
  const workspace = new LocalWorkspace({ workingDir: work });
  const conversation = await LocalConversation.open({
    persistenceDir: data,
    workspace,
    agent: agent(),
  });
  await conversation.sendMessage(TASK);
  await conversation.close();
  await workspace.close();
  return conversation.id;
}

describe('concurrency: two processes open the same conversation', () => {
  it(`${RACE_ROUNDS} races of ${RACERS} processes: exactly one opens, the others get ConversationLockedError`, async () => {
    const paths = folders();
    const id = await createConversation(paths.data, paths.work);
    const sent: string[] = [TASK];
    for (let round = 0; round < RACE_ROUNDS; round += 1) {
      const racers = Array.from({ length: RACERS }, (_, index) =>
        spawnChild(paths.data, paths.work, id, `round ${round} racer ${index}`),
      );
      try {
        // Let every child load, then start them all at once.
        await Promise.all(racers.map((racer) => racer.line('READY')));
        for (const racer of racers) racer.process.stdin.write('go\n');
        const outcomes = await Promise.all(racers.map((racer) => racer.line('OPENED', 'REFUSED')));
        const opened = outcomes.filter((outcome) => outcome.startsWith('OPENED'));
        expect(opened, outcomes.join('; ')).toHaveLength(1);
        const winner = racers[outcomes.findIndex((outcome) => outcome.startsWith('OPENED'))];
        const winnerPid = String(winner?.process.pid);
        for (const outcome of outcomes.filter((line) => line.startsWith('REFUSED'))) {
          // The refusal names the process that holds it.
          expect(outcome).toBe(`REFUSED CONVERSATION_LOCKED ${winnerPid}`);
          figures.refusedOpens += 1;
        }
        sent.push(`round ${round} racer ${racers.indexOf(winner as Child)}`);

        // This process is refused too while the winner holds it.
        const workspace = new LocalWorkspace({ workingDir: paths.work });
        const refused = await LocalConversation.open({
          persistenceDir: paths.data,
          conversationId: id,
          workspace,
        }).catch((error: unknown) => error);
        await workspace.close();
        expect(ConversationLockedError.isInstance(refused), String(refused)).toBe(true);
        expect((refused as ConversationLockedError).owner.pid).toBe(winner?.process.pid);

        winner?.process.stdin.write('close\n');
        expect(await winner?.line('CLOSED')).toBe('CLOSED');
        expect(await Promise.all(racers.map((racer) => racer.exited))).toEqual(racers.map(() => 0));
        figures.processRaces += 1;
      } finally {
        for (const racer of racers) if (racer.process.exitCode === null) racer.process.kill();
      }
    }

    // Once released it opens here, with every winner's message exactly once.
    const workspace = new LocalWorkspace({ workingDir: paths.work });
    const conversation = await LocalConversation.open({
      persistenceDir: paths.data,
      conversationId: id,
      workspace,
      agent: agent(),
    });
    try {
      const events = [...conversation.events];
      expect(duplicateIds(events)).toEqual([]);
      expect(userMessageTexts(events)).toEqual(sent);
      expect(await conversation.run()).toBe('finished');
    } finally {
      await conversation.close();
      await workspace.close();
    }
  });
});

describe('concurrency: two servers on the same data dir', () => {
  it('the second refuses the conversations the first has open, and serves them once closed', async () => {
    const paths = folders();
    // A conversation on disk that nobody has open: whichever server uses it first holds it.
    const idle = await createConversation(join(paths.data, 'conversations'), paths.work);
    let first: FerryServer | undefined = await startServer({ port: 0, dataDir: paths.data });
    let second: FerryServer | undefined;
    try {
      const created = await expectStatus(first.url, 201, 'POST', '/api/conversations', {
        agent: agent(),
        initial_message: message(TASK),
      });
      const id = (created.body as { id: string }).id;
      await expectStatus(first.url, 200, 'POST', `/api/conversations/${id}/run`);
      expect(await waitForStatus(first.url, id, ['finished', 'error'])).toBe('finished');
      expect(first.conversations.isOpen(id)).toBe(true);
      second = await startServer({ port: 0, dataDir: paths.data });

      // Listing reads only the state files: both servers list both conversations.
      const listed = await expectStatus(second.url, 200, 'GET', '/api/conversations/search');
      const listedIds = (listed.body as { items: { id: string }[] }).items.map((item) => item.id);
      expect(listedIds.sort()).toEqual([id, idle].sort());
      const refused: Answer[] = [
        await call(second.url, 'GET', `/api/conversations/${id}/events/search`),
        await call(second.url, 'POST', `/api/conversations/${id}/events`, message('second')),
        await call(second.url, 'POST', `/api/conversations/${id}/run`),
        await call(second.url, 'PATCH', `/api/conversations/${id}`, { title: 'second' }),
        await call(second.url, 'PUT', `/api/conversations/${id}/agent`, { agent: agent('b') }),
      ];
      for (const answer of refused) {
        expect(answer.status, JSON.stringify(answer.body)).toBe(409);
        expect(answer.body).toMatchObject({ code: 'CONVERSATION_LOCKED' });
        expect((answer.body as { detail: string }).detail).toContain(String(process.pid));
        figures.serverRefusals += 1;
      }
      expect(second.conversations.isOpen(id)).toBe(false);
      // The one the first does not hold, the second serves; then the first is refused it.
      await expectStatus(second.url, 200, 'GET', `/api/conversations/${idle}/events/search`);
      const idleRefused = await call(first.url, 'GET', `/api/conversations/${idle}/events/search`);
      expect(idleRefused.status).toBe(409);
      expect(idleRefused.body).toMatchObject({ code: 'CONVERSATION_LOCKED' });
      figures.serverRefusals += 1;

      // The first closes (releasing what it holds): the second serves the conversation.
      const eventsByFirst = await allEvents(first.url, id);
      await first.close();
      first = undefined;
      await expectStatus(second.url, 200, 'POST', `/api/conversations/${id}/events`, {
        ...message('second', true),
      });
      expect(await waitForStatus(second.url, id, ['finished', 'error'])).toBe('finished');
      const events = await allEvents(second.url, id);
      expect(events.slice(0, eventsByFirst.length)).toEqual(eventsByFirst);
      expect(duplicateIds(events)).toEqual([]);
      expect(userMessageTexts(events)).toEqual([TASK, 'second']);

      // A server started again on the folder is now the one refused.
      first = await startServer({ port: 0, dataDir: paths.data });
      const back = await call(first.url, 'GET', `/api/conversations/${id}/events/search`);
      expect(back.status).toBe(409);
      expect(back.body).toMatchObject({ code: 'CONVERSATION_LOCKED' });
      figures.serverRefusals += 1;
    } finally {
      await second?.close();
      await first?.close();
    }
  });
});

type ApiCall = 'message' | 'run' | 'pause' | 'agent' | 'search';
const CALL_KINDS: readonly ApiCall[] = ['message', 'run', 'pause', 'agent', 'search'];
/** What each call may answer: the state it found may forbid it (409), never anything else. */
const ALLOWED: Record<ApiCall, readonly number[]> = {
  message: [200],
  run: [200, 409],
  pause: [200],
  agent: [200, 409],
  search: [200],
};

describe('concurrency: many API calls on one conversation at once', () => {
  it(`${API_CALLS} calls in a seeded random order: nothing lost or doubled, a valid state, and a final run finishes`, async () => {
    const paths = folders();
    const server = await startServer({ port: 0, dataDir: paths.data });
    let closed = false;
    try {
      const created = await expectStatus(server.url, 201, 'POST', '/api/conversations', {
        agent: agent(),
        initial_message: message(TASK),
      });
      const id = (created.body as { id: string }).id;
      const base = `/api/conversations/${id}`;
      const random = seededRandom(API_SEED);
      const plan = Array.from(
        { length: API_CALLS },
        () => CALL_KINDS[randomInt(random, 0, CALL_KINDS.length - 1)] as ApiCall,
      );
      const sent: string[] = [TASK];
      const statuses = new Map<string, number>();
      const unexpected: string[] = [];

      const perform = async (kind: ApiCall, index: number): Promise<void> => {
        let answer: Answer;
        switch (kind) {
          case 'message': {
            const text = `message ${index}`;
            answer = await call(
              server.url,
              'POST',
              `${base}/events`,
              message(text, index % 3 === 0),
            );
            if (answer.status === 200) sent.push(text);
            break;
          }
          case 'run':
            answer = await call(server.url, 'POST', `${base}/run`);
            break;
          case 'pause':
            answer = await call(server.url, 'POST', `${base}/pause`);
            break;
          case 'agent':
            answer = await call(server.url, 'PUT', `${base}/agent`, {
              agent: agent(`model-${index % 4}`),
            });
            break;
          case 'search':
            answer = await call(server.url, 'GET', `${base}/events/search?limit=100`);
            break;
        }
        figures.apiCalls += 1;
        const key = `${kind} ${answer.status}`;
        statuses.set(key, (statuses.get(key) ?? 0) + 1);
        if (!ALLOWED[kind].includes(answer.status)) {
          unexpected.push(`${kind} #${index}: ${answer.status} ${JSON.stringify(answer.body)}`);
        } else if (answer.status === 409) {
          expect(answer.body).toMatchObject({ code: 'CONVERSATION_RUNNING' });
        }
      };

      // A bounded pool: IN_FLIGHT calls at once, taken from the plan in order.
      let next = 0;
      await Promise.all(
        Array.from({ length: IN_FLIGHT }, async () => {
          while (next < plan.length) {
            const index = next;
            next += 1;
            await perform(plan[index] as ApiCall, index);
          }
        }),
      );
      expect(unexpected).toEqual([]);
      // The storm did reach every kind of call.
      for (const kind of CALL_KINDS) {
        expect(
          [...statuses.keys()].some((key) => key.startsWith(`${kind} `)),
          kind,
        ).toBe(true);
      }

      // Let a run still going end, then a final run finishes the task.
      let final: Answer | undefined;
      for (let attempt = 0; attempt < 600; attempt += 1) {
        final = await call(server.url, 'POST', `${base}/run`);
        if (final.status !== 409) break;
        await sleep(50);
      }
      expect(final?.status, JSON.stringify(final?.body)).toBe(200);
      expect(await waitForStatus(server.url, id, ['finished', 'error', 'paused'])).toBe('finished');
      const events = await allEvents(server.url, id);
      expect(duplicateIds(events)).toEqual([]);
      const texts = userMessageTexts(events);
      expect([...texts].sort()).toEqual([...sent].sort());
      expect(new Set(texts).size).toBe(texts.length);
      const info = await conversationInfo(server.url, id);
      expect(info.execution_status).toBe('finished');
      console.info(
        `concurrency storm: ${[...statuses].map(([key, count]) => `${key}: ${count}`).join(', ')}`,
      );

      await server.close();
      closed = true;
      // What is on disk is a valid state and a log valid for the LLM, the same as served.
      const folder = join(paths.data, 'conversations', conversationFolderName(id));
      const state = conversationStateSchema.safeParse(
        JSON.parse(await readFile(join(folder, 'base_state.json'), 'utf8')),
      );
      expect(state.success).toBe(true);
      const workspace = new LocalWorkspace({ workingDir: paths.work });
      // Opened with its persisted agent (the last one PUT), so opening records nothing new.
      const conversation = await LocalConversation.open({
        persistenceDir: join(paths.data, 'conversations'),
        conversationId: id,
        workspace,
      });
      try {
        const reopened = [...conversation.events];
        expect(reopened.map((event) => event.id)).toEqual(events.map((event) => event.id));
        expect(historyProblems(reopened, conversation.agent)).toEqual([]);
        expect(conversation.status).toBe('finished');
      } finally {
        await conversation.close();
        await workspace.close();
      }
    } finally {
      if (!closed) await server.close();
    }
  });
});
