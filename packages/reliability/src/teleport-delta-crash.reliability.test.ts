import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AgentInput } from '@ferry/sdk-core';
import {
  createTemporaryDirectory,
  startScriptedLLMServer,
  type ScriptedLLMServer,
  type TemporaryDirectory,
} from '@ferry/sdk-core/testing';
import { RemoteConversation } from '@ferry/workspace-remote';
import { randomInt, seededRandom } from './seeded-random';
import {
  API_KEY,
  logProblems,
  runChild,
  seedRunner,
  teleportAgent,
  type ChildOutcome,
  type KillPlan,
  runSeeds,
  seedFailures,
  tally,
} from './teleport-crash-harness';
import { teleportTaskTurn } from './teleport-task';

// Kills on the incremental hops: coming back (the local copy is parked, a delta is appended to
// it) and going out again (the server holds the copy parked when it came back: a delta is
// uploaded, imported pending, then confirmed).

const SEEDS = Number(process.env.FERRY_TELEPORT_DELTA_SEEDS ?? 10);
const PARALLEL = 2;

/** Milliseconds a clean journey spends in each window, to spread the timed kills. */
interface Timings {
  backMs: number;
  againMs: number;
  againImportMs: number;
}

function planFor(seed: number, timings: Timings): KillPlan {
  const random = seededRandom(seed);
  const within = (span: number) => randomInt(random, 0, Math.max(1, Math.round(span * 1.2)));
  switch (seed % 5) {
    case 0:
      return { kind: 'self', point: 'again-upload' };
    case 1:
      return { kind: 'self', point: 'again-after-import' };
    case 2:
      return {
        kind: 'server-timed',
        after: 'again-import-request',
        delayMs: within(timings.againImportMs),
      };
    case 3:
      return { kind: 'child-timed', after: 'again-start', delayMs: within(timings.againMs) };
    default:
      return { kind: 'child-timed', after: 'back-start', delayMs: within(timings.backMs) };
  }
}

function label(plan: KillPlan): string {
  if (plan.kind === 'self') return `again: ${plan.point} (child)`;
  if (plan.kind === 'server-timed') return 'again: server killed mid delta import';
  return plan.after === 'back-start'
    ? 'back (delta): anywhere, the local append included (child)'
    : 'again (delta): anywhere (child)';
}

describe('teleport crash safety on incremental moves: SIGKILL mid-delta', () => {
  let llm: ScriptedLLMServer;
  let temporary: TemporaryDirectory;
  const agentOf = (): AgentInput => teleportAgent(llm.baseUrl);
  const { newSeed, startServer, runSeed } = seedRunner(
    { llm: () => llm, temporary: () => temporary, agentOf },
    'and-out-again',
  );

  beforeAll(async () => {
    llm = await startScriptedLLMServer({ respond: (request) => teleportTaskTurn(request) });
    temporary = await createTemporaryDirectory({ prefix: 'ferry-teleport-delta-crash-' });
  });
  afterAll(async () => {
    await llm?.close();
    await temporary?.[Symbol.asyncDispose]();
  });

  it(`keeps one place and one log through ${SEEDS} seeded kills on delta hops`, async () => {
    // A clean journey first: out, back (a delta), out again (a delta); it times the windows.
    const clean = await newSeed('clean');
    const server = await startServer(clean);
    let outcome: ChildOutcome;
    try {
      outcome = await runChild(undefined, clean, server, llm.baseUrl, 'and-out-again');
      expect(outcome.lines.at(-1), outcome.stderr).toBe('DONE finished');
      const there = await RemoteConversation.attach({
        host: server.url,
        apiKey: API_KEY,
        conversationId: clean.id,
      });
      try {
        const events = [...there.events];
        expect(logProblems('clean run', events, there.agent, outcome.reported)).toEqual([]);
        expect(events.filter((event) => event.kind === 'TeleportEvent')).toHaveLength(3);
      } finally {
        await there.close();
      }
    } finally {
      await server.kill();
    }
    const phase = (name: string) => outcome.phases.get(name) ?? Number.NaN;
    const timings: Timings = {
      backMs: phase('back-done') - phase('back-start'),
      againMs: phase('again-done') - phase('again-start'),
      againImportMs: phase('again-import-answered') - phase('again-import-request'),
    };
    expect(Object.values(timings).every(Number.isFinite)).toBe(true);

    const results = await runSeeds(SEEDS, PARALLEL, (seed) =>
      runSeed(seed, planFor(seed, timings)),
    );
    expect(seedFailures(results)).toEqual([]);
    const { lines } = tally(results, label);
    const killed = results.filter((result) => result.killed);
    console.info(
      [
        `teleport delta crash safety: ${killed.length} of ${results.length} seeds killed, ` +
          `${results.reduce((sum, result) => sum + result.reported, 0)} reported events checked, ` +
          `0 lost, 0 runnable in two places; clean journey: back ${timings.backMs} ms, again ` +
          `${timings.againMs} ms`,
        ...lines,
      ].join('\n'),
    );
    expect(killed.length).toBeGreaterThanOrEqual(Math.floor(SEEDS * 0.8));
  });
});
