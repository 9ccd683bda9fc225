// The teleport kill tests' harness: the child that travels, where the copies are after a kill,
// and one seed's kill, recovery and checks (teleport-crash and teleport-delta-crash tests).
import { spawn } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BASE_STATE_FILE,
  LocalConversation,
  conversationFolderName,
  conversationStateSchema,
  type AgentInput,
  type AnyEvent,
  type Agent,
} from '@ferry/sdk-core';
import type { ScriptedLLMServer, TemporaryDirectory } from '@ferry/sdk-core/testing';
import { LocalWorkspace } from '@ferry/workspace-local';
import { RemoteConversation, RemoteWorkspace, teleport } from '@ferry/workspace-remote';
import { duplicateIds, historyProblems } from './conversation-checks';
import { startServerProcess, type ServerProcess } from './teleport-server-process';
import { FINISH_MESSAGE, TELEPORT_TASK_TOOLS } from './teleport-task';

const CHILD = fileURLToPath(new URL('./teleport-crash-child.js', import.meta.url));
export const API_KEY = 'teleport-crash-api-key';
export const SECRET_KEY = randomBytes(32).toString('hex');
/** A child that neither finishes nor dies in this long is a failure (it hung). */
const CHILD_LIMIT_MS = 90_000;

/** Where the child (or the server) dies. */
export type KillPlan =
  | {
      kind: 'self';
      point:
        | 'out-upload'
        | 'out-after-import'
        | 'back-download'
        | 'back-after-mark'
        | 'back-import'
        | 'again-upload'
        | 'again-after-import';
    }
  | {
      kind: 'child-timed';
      after: 'import-request' | 'back-start' | 'again-start';
      delayMs: number;
    }
  | { kind: 'server-timed'; after: 'import-request' | 'again-import-request'; delayMs: number };

/** The child's journey: out and back, or out, back and out again (incremental both ways). */
export type Journey = 'round-trip' | 'and-out-again';

export interface Seed {
  id: string;
  persistenceDir: string;
  workingDir: string;
  serverData: string;
  serverRoot: string;
  remoteWorkingDir: string;
}

export interface ChildOutcome {
  reported: string[];
  phases: Map<string, number>;
  killedChild: boolean;
  killedServer: boolean;
  lines: string[];
  stderr: string;
}

/** Runs the child until it ends or the plan kills it (or the server under it). */
export function runChild(
  plan: KillPlan | undefined,
  seed: Seed,
  server: ServerProcess,
  llmBaseUrl: string,
  journey: Journey = 'round-trip',
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
        again: journey === 'and-out-again',
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

export type Place = { kind: 'absent' } | { kind: 'live' } | { kind: 'parked'; to: string };

export async function localPlace(seed: Seed): Promise<Place> {
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

export async function serverPlace(server: ServerProcess, id: string): Promise<Place> {
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
export async function serverRunEnded(server: ServerProcess, id: string): Promise<void> {
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
export function logProblems(
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

export interface SeedResult {
  seed: number;
  plan: KillPlan;
  killed: boolean;
  reported: number;
  /** Where it was runnable right after the kill. */
  after: string;
  problems: string[];
}

/** The agent the travelling task runs with, on the scripted LLM at `baseUrl`. */
export function teleportAgent(baseUrl: string): AgentInput {
  return {
    llm: {
      model: 'teleport-model',
      base_url: baseUrl,
      api_key: 'teleport-test-key',
      usage_id: 'teleport',
    },
    tools: TELEPORT_TASK_TOOLS,
  };
}

/** What a seed runner needs from its test. */
export interface SeedRunnerContext {
  llm: () => ScriptedLLMServer;
  temporary: () => TemporaryDirectory;
  agentOf: () => AgentInput;
}

/**
 * Runs seeds of one journey: each a fresh conversation and server, the child killed as planned,
 * then the user's recovery (retry the teleport that was cut off, or take the conversation where
 * it is runnable) and the checks: runnable in one place at most right after the kill, in exactly
 * one after recovery, every reported event once and in order, and the task finishes.
 */
export function seedRunner(context: SeedRunnerContext, journey: Journey) {
  async function newSeed(name: string): Promise<Seed> {
    const root = join(context.temporary().path, name);
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

  async function runSeed(seedNumber: number, plan: KillPlan): Promise<SeedResult> {
    const seed = await newSeed(`seed-${seedNumber}`);
    let server = await startServer(seed);
    const problems: string[] = [];
    let after = 'unknown';
    let outcome: ChildOutcome | undefined;
    const workspace = new LocalWorkspace({ workingDir: seed.workingDir });
    try {
      outcome = await runChild(plan, seed, server, context.llm().baseUrl, journey);
      if (outcome.killedServer || server.child.exitCode !== null || server.child.signalCode) {
        await server.kill();
        // The user restarts the server where it was (the parked copy names that address).
        server = await startServer(seed, server.port);
      }
      if (!outcome.killedChild && !outcome.killedServer) {
        problems.push(
          `child was not killed (phases ${[...outcome.phases.keys()].join(', ')}): ` +
            `${outcome.lines.slice(-3).join(' | ')} ${outcome.stderr}`,
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
      const agent = context.agentOf();
      // Cut off going out (the first hop, or the last one of the longer journey), or coming back.
      const back = outcome.phases.has('back-start') && !outcome.phases.has('again-start');
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

  return { newSeed, startServer, runSeed };
}

/** Runs `count` seeds, `parallel` at a time. */
export async function runSeeds(
  count: number,
  parallel: number,
  run: (seed: number) => Promise<SeedResult>,
): Promise<SeedResult[]> {
  const results: SeedResult[] = [];
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const seed = next;
      next += 1;
      results.push(await run(seed));
    }
  };
  await Promise.all(Array.from({ length: parallel }, () => worker()));
  return results;
}

/** The seeds that went wrong, one line each. */
export function seedFailures(results: readonly SeedResult[]): string[] {
  return results
    .filter((result) => result.problems.length > 0)
    .map(
      (result) =>
        `seed ${result.seed} ${JSON.stringify(result.plan)} (${result.after}): ${result.problems.join('; ')}`,
    );
}

/** Seeds by kill label and by where the conversation was runnable right after the kill. */
export function tally(
  results: readonly SeedResult[],
  label: (plan: KillPlan) => string,
): { byLabel: Map<string, number>; byState: Map<string, number>; lines: string[] } {
  const byLabel = new Map<string, number>();
  const byState = new Map<string, number>();
  for (const result of results) {
    byLabel.set(label(result.plan), (byLabel.get(label(result.plan)) ?? 0) + 1);
    byState.set(result.after, (byState.get(result.after) ?? 0) + 1);
  }
  const lines = [
    ...[...byLabel].map(([name, count]) => `  ${name}: ${count}`),
    '  state right after the kill:',
    ...[...byState].map(([name, count]) => `    ${name}: ${count}`),
  ];
  return { byLabel, byState, lines };
}
