import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BASE_STATE_FILE,
  LocalConversation,
  conversationFolderName,
  conversationStateSchema,
  type AgentInput,
  type AnyEvent,
  type Agent,
} from '@ferry/sdk-core';
import {
  createTemporaryDirectory,
  startScriptedLLMServer,
  type ScriptedLLMServer,
  type TemporaryDirectory,
} from '@ferry/sdk-core/testing';
import { LocalWorkspace } from '@ferry/workspace-local';
import { RemoteConversation, RemoteWorkspace, teleport } from '@ferry/workspace-remote';
import { duplicateIds, historyProblems } from './conversation-checks';
import { randomInt, seededRandom } from './seeded-random';
import { startServerProcess, type ServerProcess } from './teleport-server-process';
import { FINISH_MESSAGE, TELEPORT_TASK_TOOLS, teleportTaskTurn } from './teleport-task';

const CHILD = fileURLToPath(new URL('./teleport-crash-child.js', import.meta.url));
const SEEDS = Number(process.env.FERRY_TELEPORT_SEEDS ?? 24);
const PARALLEL = 2;
const API_KEY = 'teleport-crash-api-key';
const SECRET_KEY = randomBytes(32).toString('hex');
/** A child that neither finishes nor dies in this long is a failure (it hung). */
const CHILD_LIMIT_MS = 90_000;

/** Where the child (or the server) dies. */
type KillPlan =
  | {
      kind: 'self';
      point:
        'out-upload' | 'out-after-import' | 'back-download' | 'back-after-mark' | 'back-import';
    }
  | { kind: 'child-timed'; after: 'import-request' | 'back-start'; delayMs: number }
  | { kind: 'server-timed'; after: 'import-request'; delayMs: number };

/** What each kind of plan covers, for the figures. */
function label(plan: KillPlan): string {
  if (plan.kind === 'self') {
    return {
      'out-upload': 'out: during export/upload (child)',
      'out-after-import': 'out: between import and hand-over (child)',
      'back-download': 'back: during download (child)',
      'back-after-mark': 'back: server parked, before local import (child)',
      'back-import': 'back: during local import (child)',
    }[plan.point];
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

interface Seed {
  id: string;
  persistenceDir: string;
  workingDir: string;
  serverData: string;
  serverRoot: string;
  remoteWorkingDir: string;
}

interface ChildOutcome {
  reported: string[];
  phases: Map<string, number>;
  killedChild: boolean;
  killedServer: boolean;
  lines: string[];
  stderr: string;
}

/** Runs the child until it ends or the plan kills it (or the server under it). */
function runChild(
  plan: KillPlan | undefined,
  seed: Seed,
  server: ServerProcess,
  llmBaseUrl: string,
): Promise<ChildOutcome> {
  const child = spawn(
    process.execPath,
    [
      CHILD,
      JSON.stringify({
        persistenceDir: seed.persistenceDir,
        workingDir: seed.workingDir,
        remoteWorkingDir: seed.remoteWorkingDir,
        serverUrl: server.url,
        apiKey: API_KEY,
        llmBaseUrl,
        conversationId: seed.id,
        selfKill: plan?.kind === 'self' ? plan.point : 'none',
      }),
    ],
    { detached: true, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const outcome: ChildOutcome = {
    reported: [],
    phases: new Map(),
    killedChild: false,
    killedServer: false,
    lines: [],
    stderr: '',
  };
  const timers: NodeJS.Timeout[] = [];
  const killChild = () => {
    try {
      process.kill(-(child.pid as number), 'SIGKILL');
    } catch {
      // already gone
    }
  };
  const killServer = () => {
    outcome.killedServer = true;
    server.child.kill('SIGKILL');
    // A child left waiting on a dead server is killed too (bounded), as a user would.
    timers.push(setTimeout(killChild, 5_000));
  };
  timers.push(setTimeout(killChild, CHILD_LIMIT_MS));
  let buffer = '';
  child.stderr.on('data', (chunk: Buffer) => (outcome.stderr += chunk.toString()));
  child.stdout.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    for (let newline = buffer.indexOf('\n'); newline >= 0; newline = buffer.indexOf('\n')) {
      const line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      outcome.lines.push(line);
      const [tag, value] = line.split(' ');
      if (tag === 'EVENT' && value !== undefined) outcome.reported.push(value);
      if (tag !== 'PHASE' || value === undefined) continue;
      outcome.phases.set(value, Date.now());
      if (plan === undefined || plan.kind === 'self' || plan.after !== value) continue;
      timers.push(setTimeout(plan.kind === 'server-timed' ? killServer : killChild, plan.delayMs));
    }
  });
  return new Promise((resolve) => {
    child.once('exit', (_code, signal) => {
      for (const timer of timers) clearTimeout(timer);
      killChild();
      outcome.killedChild = signal === 'SIGKILL';
      resolve(outcome);
    });
  });
}

type Place = { kind: 'absent' } | { kind: 'live' } | { kind: 'parked'; to: string };

async function localPlace(seed: Seed): Promise<Place> {
  let text: string;
  try {
    text = await readFile(
      join(seed.persistenceDir, conversationFolderName(seed.id), BASE_STATE_FILE),
      'utf8',
    );
  } catch {
    return { kind: 'absent' };
  }
  const state = conversationStateSchema.parse(JSON.parse(text));
  return state.teleport == null ? { kind: 'live' } : { kind: 'parked', to: state.teleport.to };
}

async function serverPlace(server: ServerProcess, id: string): Promise<Place> {
  const response = await fetch(`${server.url}/api/conversations/${id}`, {
    headers: { 'X-Session-API-Key': API_KEY },
  });
  if (response.status === 404) return { kind: 'absent' };
  if (!response.ok)
    throw new Error(`GET conversation: ${response.status} ${await response.text()}`);
  const state = conversationStateSchema.parse(await response.json());
  return state.teleport == null ? { kind: 'live' } : { kind: 'parked', to: state.teleport.to };
}

/** Waits (bounded) until a run the server went on with after the child died has ended. */
async function serverRunEnded(server: ServerProcess, id: string): Promise<void> {
  for (let attempt = 0; attempt < 300; attempt += 1) {
    const response = await fetch(`${server.url}/api/conversations/${id}`, {
      headers: { 'X-Session-API-Key': API_KEY },
    });
    const state = (await response.json()) as { execution_status?: string };
    if (state.execution_status !== 'running') return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error('the run on the server did not end');
}

/** Problems of a log: reported events missing, twice or out of order; duplicates; bad history. */
function logProblems(
  when: string,
  events: readonly AnyEvent[],
  agent: Agent,
  reported: readonly string[],
): string[] {
  const problems: string[] = [];
  const ids = events.map((event) => event.id);
  let previous = -1;
  for (const id of reported) {
    const count = ids.filter((other) => other === id).length;
    if (count !== 1) problems.push(`${when}: reported event ${id} is present ${count} times`);
    const index = ids.indexOf(id);
    if (index >= 0 && index < previous) problems.push(`${when}: reported event ${id} out of order`);
    previous = Math.max(previous, index);
  }
  for (const id of duplicateIds(events)) problems.push(`${when}: duplicate id ${id}`);
  for (const problem of historyProblems(events, agent)) problems.push(`${when}: ${problem}`);
  return problems;
}

interface SeedResult {
  seed: number;
  plan: KillPlan;
  killed: boolean;
  reported: number;
  /** Where it was runnable right after the kill. */
  after: string;
  problems: string[];
}

describe('teleport crash safety: SIGKILL of the child or the server mid-teleport', () => {
  let llm: ScriptedLLMServer;
  let temporary: TemporaryDirectory;
  const agentOf = (): AgentInput => ({
    llm: {
      model: 'teleport-model',
      base_url: llm.baseUrl,
      api_key: 'teleport-test-key',
      usage_id: 'teleport',
    },
    tools: TELEPORT_TASK_TOOLS,
  });

  beforeAll(async () => {
    llm = await startScriptedLLMServer({ respond: (request) => teleportTaskTurn(request) });
    temporary = await createTemporaryDirectory({ prefix: 'ferry-teleport-crash-' });
  });
  afterAll(async () => {
    await llm?.close();
    await temporary?.[Symbol.asyncDispose]();
  });

  async function newSeed(name: string): Promise<Seed> {
    const root = join(temporary.path, name);
    const seed: Seed = {
      id: randomUUID(),
      persistenceDir: join(root, 'local', 'conversations'),
      workingDir: join(root, 'local', 'work'),
      serverData: join(root, 'server', 'data'),
      serverRoot: join(root, 'server', 'root'),
      remoteWorkingDir: join(root, 'server', 'root', 'work'),
    };
    await mkdir(seed.workingDir, { recursive: true });
    return seed;
  }

  const startServer = (seed: Seed, port?: number) =>
    startServerProcess({
      dataDir: seed.serverData,
      workspaceRoot: seed.serverRoot,
      apiKey: API_KEY,
      secretKey: SECRET_KEY,
      ...(port === undefined ? {} : { port }),
    });

  async function runSeed(seedNumber: number, timings: Timings): Promise<SeedResult> {
    const plan = planFor(seedNumber, timings);
    const seed = await newSeed(`seed-${seedNumber}`);
    let server = await startServer(seed);
    const problems: string[] = [];
    let after = 'unknown';
    let outcome: ChildOutcome | undefined;
    const workspace = new LocalWorkspace({ workingDir: seed.workingDir });
    try {
      outcome = await runChild(plan, seed, server, llm.baseUrl);
      if (outcome.killedServer || server.child.exitCode !== null || server.child.signalCode) {
        await server.kill();
        // The user restarts the server where it was (the parked copy names that address).
        server = await startServer(seed, server.port);
      }
      if (!outcome.killedChild && !outcome.killedServer) {
        problems.push(
          `child was not killed: ${outcome.lines.slice(-3).join(' | ')} ${outcome.stderr}`,
        );
      }

      // Right after the kill: runnable in one place at most.
      const local = await localPlace(seed);
      const remote = await serverPlace(server, seed.id);
      after = `local ${local.kind}, server ${remote.kind}`;
      if (local.kind === 'live' && remote.kind === 'live') {
        problems.push('runnable in two places after the kill');
      }
      if (local.kind === 'absent' && remote.kind !== 'live') {
        problems.push(`lost: no local copy and the server's is ${remote.kind}`);
      }

      // The user retries the teleport that was cut off, or takes it where it is runnable.
      const agent = agentOf();
      const back = outcome.phases.has('back-start');
      let conversation: LocalConversation | RemoteConversation;
      if (!back) {
        if (remote.kind === 'live') {
          await serverRunEnded(server, seed.id);
          conversation = await RemoteConversation.attach({
            host: server.url,
            apiKey: API_KEY,
            conversationId: seed.id,
          });
        } else {
          const opened = await LocalConversation.open({
            conversationId: seed.id,
            persistenceDir: seed.persistenceDir,
            workspace,
            agent,
          });
          conversation = await teleport(opened, {
            to: new RemoteWorkspace({
              host: server.url,
              apiKey: API_KEY,
              workingDir: seed.remoteWorkingDir,
            }),
            agent,
          });
        }
      } else if (local.kind === 'live') {
        conversation = await LocalConversation.open({
          conversationId: seed.id,
          persistenceDir: seed.persistenceDir,
          workspace,
          agent,
        });
      } else {
        const attached = await RemoteConversation.attach({
          host: server.url,
          apiKey: API_KEY,
          conversationId: seed.id,
        });
        conversation = await teleport(attached, {
          to: { persistenceDir: seed.persistenceDir, workspace },
          agent,
        });
      }

      try {
        problems.push(
          ...logProblems(
            'after recovery',
            [...conversation.events],
            conversation.agent,
            outcome.reported,
          ),
        );
        const nowLocal = await localPlace(seed);
        const nowRemote = await serverPlace(server, seed.id);
        if ((nowLocal.kind === 'live') === (nowRemote.kind === 'live')) {
          problems.push(
            `after recovery: local ${nowLocal.kind}, server ${nowRemote.kind} (not one place)`,
          );
        }
        await conversation.sendMessage(FINISH_MESSAGE);
        const status = await conversation.run();
        if (status !== 'finished') problems.push(`run() ended ${status}`);
        const events = [...conversation.events];
        problems.push(...logProblems('after run()', events, conversation.agent, outcome.reported));
        const finished = events.some(
          (event) =>
            event.kind === 'ActionEvent' &&
            (event as { tool_name?: string }).tool_name === 'finish',
        );
        if (!finished) problems.push('the task did not reach its finish action');
      } finally {
        await conversation.close();
      }
    } catch (error) {
      problems.push(
        `recovery failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}` +
          ` | child: ${outcome?.lines.slice(-4).join(' | ') ?? ''} ${outcome?.stderr ?? ''}`,
      );
    } finally {
      await workspace.close();
      await server.kill();
    }
    return {
      seed: seedNumber,
      plan,
      killed: outcome?.killedChild === true || outcome?.killedServer === true,
      reported: outcome?.reported.length ?? 0,
      after,
      problems,
    };
  }

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

    const results: SeedResult[] = [];
    let next = 0;
    const worker = async () => {
      while (next < SEEDS) {
        const seed = next;
        next += 1;
        results.push(await runSeed(seed, timings));
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, () => worker()));

    const failures = results
      .filter((result) => result.problems.length > 0)
      .map(
        (result) =>
          `seed ${result.seed} ${JSON.stringify(result.plan)} (${result.after}): ${result.problems.join('; ')}`,
      );
    expect(failures).toEqual([]);
    const byLabel = new Map<string, number>();
    const byState = new Map<string, number>();
    for (const result of results) {
      byLabel.set(label(result.plan), (byLabel.get(label(result.plan)) ?? 0) + 1);
      byState.set(result.after, (byState.get(result.after) ?? 0) + 1);
    }
    const killed = results.filter((result) => result.killed);
    console.info(
      [
        `teleport crash safety: ${killed.length} of ${results.length} seeds killed ` +
          `(${results.filter((result) => result.plan.kind === 'server-timed').length} server kills), ` +
          `${results.reduce((sum, result) => sum + result.reported, 0)} reported events checked, 0 lost, ` +
          `0 runnable in two places; clean journey: import ${timings.importMs} ms, back ${timings.backMs} ms`,
        ...[...byLabel].map(([name, count]) => `  ${name}: ${count}`),
        '  state right after the kill:',
        ...[...byState].map(([name, count]) => `    ${name}: ${count}`),
      ].join('\n'),
    );
    expect(killed.length).toBeGreaterThanOrEqual(20);
    expect(byLabel.size).toBe(8);
  });
});
