import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalConversation, type AgentInput } from '@ferry/sdk-core';
import {
  createTemporaryDirectory,
  startScriptedLLMServer,
  type ScriptedLLMServer,
  type TemporaryDirectory,
} from '@ferry/sdk-core/testing';
import { LocalWorkspace } from '@ferry/workspace-local';
import { randomInt, seededRandom } from './seeded-random';
import {
  logProblems,
  runChild,
  seedRunner,
  teleportAgent,
  type ChildOutcome,
  type KillPlan,
  runSeeds,
  type SeedResult,
  seedFailures,
  tally,
} from './teleport-crash-harness';
import { teleportTaskTurn } from './teleport-task';

const SEEDS = Number(process.env.FERRY_TELEPORT_SEEDS ?? 24);
const PARALLEL = 2;

/** What each kind of plan covers, for the figures. */
function label(plan: KillPlan): string {
  if (plan.kind === 'self') {
    const labels: Partial<Record<typeof plan.point, string>> = {
      'out-upload': 'out: during export/upload (child)',
      'out-after-import': 'out: between import and hand-over (child)',
      'back-download': 'back: during download (child)',
      'back-after-mark': 'back: server parked, before local import (child)',
      'back-import': 'back: during local import (child)',
    };
    return labels[plan.point] ?? plan.point;
  }
  if (plan.kind === 'server-timed') return 'out: server killed mid-import';
  return plan.after === 'import-request'
    ? 'out: during upload/import on the server (child)'
    : 'back: anywhere in the teleport back (child)';
}

/** Milliseconds a clean run spends in each window, measured once to spread timed kills. */
interface Timings {
  importMs: number;
  backMs: number;
}

function planFor(seed: number, timings: Timings): KillPlan {
  const random = seededRandom(seed);
  const within = (span: number) => randomInt(random, 0, Math.max(1, Math.round(span * 1.2)));
  switch (seed % 8) {
    case 0:
      return { kind: 'self', point: 'out-upload' };
    case 1:
      return { kind: 'child-timed', after: 'import-request', delayMs: within(timings.importMs) };
    case 2:
      return { kind: 'server-timed', after: 'import-request', delayMs: within(timings.importMs) };
    case 3:
      return { kind: 'self', point: 'out-after-import' };
    case 4:
      return { kind: 'self', point: 'back-download' };
    case 5:
      return { kind: 'self', point: 'back-after-mark' };
    case 6:
      return { kind: 'self', point: 'back-import' };
    default:
      return { kind: 'child-timed', after: 'back-start', delayMs: within(timings.backMs) };
  }
}

describe('teleport crash safety: SIGKILL of the child or the server mid-teleport', () => {
  let llm: ScriptedLLMServer;
  let temporary: TemporaryDirectory;
  const agentOf = (): AgentInput => teleportAgent(llm.baseUrl);

  beforeAll(async () => {
    llm = await startScriptedLLMServer({ respond: (request) => teleportTaskTurn(request) });
    temporary = await createTemporaryDirectory({ prefix: 'ferry-teleport-crash-' });
  });
  afterAll(async () => {
    await llm?.close();
    await temporary?.[Symbol.asyncDispose]();
  });

  const {
    newSeed,
    startServer,
    runSeed: runPlan,
  } = seedRunner({ llm: () => llm, temporary: () => temporary, agentOf }, 'round-trip');
  const runSeed = (seedNumber: number, timings: Timings): Promise<SeedResult> =>
    runPlan(seedNumber, planFor(seedNumber, timings));

  it(`keeps the conversation in one place through ${SEEDS} seeded kills mid-teleport`, async () => {
    // A clean run first: the whole journey works, and it times the windows kills aim at.
    const clean = await newSeed('clean');
    const server = await startServer(clean);
    let outcome: ChildOutcome;
    try {
      outcome = await runChild(undefined, clean, server, llm.baseUrl);
    } finally {
      await server.kill();
    }
    expect(outcome.lines.at(-1), outcome.stderr).toBe('DONE finished');
    const phase = (name: string) => outcome.phases.get(name) ?? Number.NaN;
    const timings: Timings = {
      importMs: phase('import-answered') - phase('import-request'),
      backMs: phase('back-done') - phase('back-start'),
    };
    expect(Number.isFinite(timings.importMs) && Number.isFinite(timings.backMs)).toBe(true);
    const cleanWorkspace = new LocalWorkspace({ workingDir: clean.workingDir });
    const cleanLog = await LocalConversation.open({
      conversationId: clean.id,
      persistenceDir: clean.persistenceDir,
      workspace: cleanWorkspace,
    });
    try {
      const events = [...cleanLog.events];
      expect(logProblems('clean run', events, cleanLog.agent, outcome.reported)).toEqual([]);
      expect(events.filter((event) => event.kind === 'TeleportEvent')).toHaveLength(2);
    } finally {
      await cleanLog.close();
      await cleanWorkspace.close();
    }

    const results = await runSeeds(SEEDS, PARALLEL, (seed) => runSeed(seed, timings));
    expect(seedFailures(results)).toEqual([]);
    const { byLabel, lines } = tally(results, label);
    const killed = results.filter((result) => result.killed);
    console.info(
      [
        `teleport crash safety: ${killed.length} of ${results.length} seeds killed ` +
          `(${results.filter((result) => result.plan.kind === 'server-timed').length} server kills), ` +
          `${results.reduce((sum, result) => sum + result.reported, 0)} reported events checked, 0 lost, ` +
          `0 runnable in two places; clean journey: import ${timings.importMs} ms, back ${timings.backMs} ms`,
        ...lines,
      ].join('\n'),
    );
    expect(killed.length).toBeGreaterThanOrEqual(20);
    expect(byLabel.size).toBe(8);
  });
});
