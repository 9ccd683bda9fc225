import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { LocalWorkspace } from '@ferry/workspace-local';
import { elapsedMs, rotate, summarize, type Summary } from '../harness/stats';

/** How many times each operation runs per repetition, and how many repetitions. */
export interface SandboxSize {
  iterations: number;
  repetitions: number;
}

/** The contenders: the host workspace and the bubblewrap-sandboxed one. */
export const sandboxContenders = ['host', 'sandbox'] as const;
export type SandboxContender = (typeof sandboxContenders)[number];

/** The operations timed, each a user-visible call of the workspace. */
export const sandboxOperations = ['shellStart', 'shellCommand', 'command', 'readFile'] as const;
export type SandboxOperation = (typeof sandboxOperations)[number];

/** Median milliseconds per call of each operation, per contender, and sandbox over host. */
export interface SandboxSuiteResult {
  size: SandboxSize;
  ms: Record<SandboxContender, Record<SandboxOperation, Summary>>;
  /** Sandbox over host, taken within each repetition. */
  ratio: Record<SandboxOperation, Summary>;
}

type Timings = Record<SandboxOperation, number>;

/** Median of `iterations` timed calls of `action`. */
async function time(iterations: number, action: () => Promise<unknown>): Promise<number> {
  const samples: number[] = [];
  for (let index = 0; index < iterations; index++) {
    const start = process.hrtime.bigint();
    await action();
    samples.push(elapsedMs(start));
  }
  return summarize(samples).median;
}

async function measure(workspace: LocalWorkspace, iterations: number): Promise<Timings> {
  await workspace.writeFile('small.txt', 'x'.repeat(1024));
  const shellStart = await time(iterations, async () => {
    const shell = await workspace.openShell();
    await shell.close();
  });
  const shell = await workspace.openShell();
  try {
    const shellCommand = await time(iterations, () => shell.run('true'));
    const command = await time(iterations, () => workspace.executeCommand('true'));
    const readFile = await time(iterations, () => workspace.readFile('small.txt'));
    return { shellStart, shellCommand, command, readFile };
  } finally {
    await shell.close();
  }
}

/**
 * The cost of the sandbox per call: opening a shell session (a new bash, in a new sandbox),
 * a command in an open session, a one-shot command (`executeCommand('true')`) and reading a
 * 1 KiB file, on a `LocalWorkspace` on the host and on one with `sandbox: true`.
 */
export async function runSandboxSuite(options: {
  workDir: string;
  size: SandboxSize;
  log: (message: string) => void;
}): Promise<SandboxSuiteResult> {
  const { size } = options;
  const folder = join(options.workDir, 'sandbox');
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, '.keep'), '');
  const runs: Record<SandboxContender, Timings[]> = { host: [], sandbox: [] };
  for (let repetition = 0; repetition < size.repetitions; repetition++) {
    for (const contender of rotate(sandboxContenders, repetition)) {
      const workspace = new LocalWorkspace({
        workingDir: join(folder, contender),
        ...(contender === 'sandbox' ? { sandbox: true } : {}),
      });
      try {
        runs[contender].push(await measure(workspace, size.iterations));
      } finally {
        await workspace.close();
      }
    }
    options.log(`sandbox: repetition ${repetition + 1}/${size.repetitions}`);
  }
  const summaries = (contender: SandboxContender) =>
    Object.fromEntries(
      sandboxOperations.map((operation) => [
        operation,
        summarize(runs[contender].map((timings) => timings[operation])),
      ]),
    ) as Record<SandboxOperation, Summary>;
  const ratio = Object.fromEntries(
    sandboxOperations.map((operation) => [
      operation,
      summarize(
        runs.sandbox.map(
          (timings, index) => timings[operation] / (runs.host[index]?.[operation] ?? Number.NaN),
        ),
      ),
    ]),
  ) as Record<SandboxOperation, Summary>;
  return { size, ms: { host: summaries('host'), sandbox: summaries('sandbox') }, ratio };
}
