import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalConversation } from '@ferry/sdk-core';
import {
  createTemporaryDirectory,
  startScriptedLLMServer,
  type ScriptedLLMServer,
  type TemporaryDirectory,
} from '@ferry/sdk-core/testing';
import { LocalWorkspace } from '@ferry/workspace-local';
import { duplicateIds, historyProblems } from './conversation-checks';
import { randomInt, seededRandom } from './seeded-random';
import { TASK_TOOLS, taskTurn } from './task-script';

const CHILD = fileURLToPath(new URL('../fixtures/crash-child.js', import.meta.url));
const SEEDS = Number(process.env.FERRY_CRASH_SEEDS ?? 60);
const PARALLEL = Math.max(2, Math.min(4, availableParallelism()));

/** Where a seed kills the child. */
type KillPlan =
  | { kind: 'after-events'; events: number }
  | { kind: 'mid-tool' }
  | { kind: 'self'; selfKill: string };

/**
 * Where seed `seed` kills. The uninterrupted task makes 21 events, 15 appends and 5 state
 * writes, so every drawn point lies inside the run.
 */
function planFor(seed: number): KillPlan {
  const random = seededRandom(seed);
  switch (seed % 4) {
    case 0:
      return { kind: 'after-events', events: randomInt(random, 1, 20) };
    case 1:
      return { kind: 'mid-tool' };
    case 2: {
      const when = ['before', 'torn', 'after'][randomInt(random, 0, 2)] as string;
      return { kind: 'self', selfKill: `append:${randomInt(random, 1, 15)}:${when}` };
    }
    default: {
      const when = ['before', 'torn', 'after'][randomInt(random, 0, 2)] as string;
      return { kind: 'self', selfKill: `writeAtomic:${randomInt(random, 1, 5)}:${when}` };
    }
  }
}

/** The kinds of kill point every run must cover. */
const KILL_POINTS = [
  'after-events',
  'mid-tool',
  'append:before',
  'append:torn',
  'append:after',
  'writeAtomic:before',
  'writeAtomic:torn',
  'writeAtomic:after',
];

function killPoint(plan: KillPlan): string {
  if (plan.kind !== 'self') return plan.kind;
  const [operation, , when] = plan.selfKill.split(':');
  return `${operation}:${when}`;
}

interface ChildOutcome {
  reported: string[];
  killed: boolean;
  stderr: string;
}

/** Runs the child until it finishes or is killed by the plan, collecting the ids it reported. */
function runChild(
  plan: KillPlan,
  folders: { data: string; work: string },
  conversationId: string,
  baseUrl: string,
): Promise<ChildOutcome> {
  const selfKill = plan.kind === 'self' ? plan.selfKill : 'none';
  const child = spawn(
    process.execPath,
    [CHILD, folders.data, folders.work, conversationId, baseUrl, selfKill],
    // Its own process group, so a kill also takes the shell it started.
    { detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const reported: string[] = [];
  let actions = 0;
  let buffer = '';
  let stderr = '';
  const kill = () => {
    try {
      process.kill(-(child.pid as number), 'SIGKILL');
    } catch {
      // already gone
    }
  };
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    let newline = buffer.indexOf('\n');
    while (newline >= 0) {
      const [tag, id, kind] = buffer.slice(0, newline).split(' ');
      buffer = buffer.slice(newline + 1);
      newline = buffer.indexOf('\n');
      if (tag !== 'EVENT' || id === undefined) continue;
      reported.push(id);
      if (plan.kind === 'after-events' && reported.length === plan.events) kill();
      if (kind === 'ActionEvent') actions += 1;
      // The third action is the `sleep` step: the kill lands while the tool runs.
      if (plan.kind === 'mid-tool' && kind === 'ActionEvent' && actions === 3) kill();
    }
  });
  return new Promise((resolve) => {
    child.once('exit', (_code, signal) => {
      kill();
      resolve({ reported, killed: signal === 'SIGKILL', stderr });
    });
  });
}

interface SeedResult {
  seed: number;
  plan: KillPlan;
  killed: boolean;
  reported: number;
  problems: string[];
  status: string;
}

async function runSeed(seed: number, root: string, baseUrl: string): Promise<SeedResult> {
  const plan = planFor(seed);
  const folders = { data: join(root, `${seed}`, 'data'), work: join(root, `${seed}`, 'work') };
  await mkdir(folders.work, { recursive: true });
  const conversationId = randomUUID();
  const outcome = await runChild(plan, folders, conversationId, baseUrl);
  const problems: string[] = [];
  if (!outcome.killed && outcome.stderr !== '') problems.push(`child failed: ${outcome.stderr}`);

  const workspace = new LocalWorkspace({ workingDir: folders.work });
  const warnings: string[] = [];
  let status = 'not opened';
  try {
    const conversation = await LocalConversation.open({
      conversationId,
      persistenceDir: folders.data,
      workspace,
      agent: {
        llm: {
          model: 'crash-model',
          base_url: baseUrl,
          api_key: 'crash-test-key',
          usage_id: 'crash',
        },
        tools: TASK_TOOLS,
      },
      onWarning: (message) => warnings.push(message),
    });
    try {
      const checkLog = (when: string) => {
        const events = [...conversation.events];
        const ids = events.map((event) => event.id);
        for (const id of outcome.reported) {
          const count = ids.filter((other) => other === id).length;
          if (count !== 1) problems.push(`${when}: reported event ${id} is present ${count} times`);
        }
        for (const id of duplicateIds(events)) problems.push(`${when}: duplicate id ${id}`);
        for (const problem of historyProblems(events, conversation.agent))
          problems.push(`${when}: ${problem}`);
      };
      checkLog('after the kill');
      const hasUserMessage = [...conversation.events].some(
        (event) => event.kind === 'MessageEvent' && event.source === 'user',
      );
      if (!hasUserMessage)
        await conversation.sendMessage('Write a.txt and b.txt, check them, and finish.');
      status = await conversation.run();
      checkLog('after run()');
    } finally {
      await conversation.close();
    }
  } catch (error) {
    problems.push(`resume failed: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    await workspace.close();
  }
  if (status !== 'finished') problems.push(`run() ended ${status}`);
  return {
    seed,
    plan,
    killed: outcome.killed,
    reported: outcome.reported.length,
    problems,
    status,
  };
}

describe('crash safety: SIGKILL at random points', () => {
  let llm: ScriptedLLMServer;
  let temporary: TemporaryDirectory;

  beforeAll(async () => {
    llm = await startScriptedLLMServer({ respond: (request) => taskTurn(request) });
    temporary = await createTemporaryDirectory();
  });
  afterAll(async () => {
    await llm?.close();
    await temporary?.[Symbol.asyncDispose]();
  });

  it(`survives ${SEEDS} seeded kills with no reported event lost or duplicated`, async () => {
    const results: SeedResult[] = [];
    let next = 0;
    const worker = async () => {
      while (next < SEEDS) {
        const seed = next;
        next += 1;
        results.push(await runSeed(seed, temporary.path, llm.baseUrl));
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, () => worker()));

    const failures = results
      .filter((result) => result.problems.length > 0)
      .map(
        (result) =>
          `seed ${result.seed} ${JSON.stringify(result.plan)}: ${result.problems.join('; ')}`,
      );
    expect(failures).toEqual([]);
    const killed = results.filter((result) => result.killed);
    const killedBy = (label: string) =>
      killed.filter((result) => killPoint(result.plan) === label).length;
    console.info(
      `crash safety: ${killed.length} of ${results.length} children killed, ` +
        `${killed.reduce((sum, result) => sum + result.reported, 0)} reported events checked, 0 lost`,
    );
    expect(killed.length).toBeGreaterThanOrEqual(50);
    for (const label of KILL_POINTS) expect(killedBy(label), label).toBeGreaterThan(0);
  });
});
