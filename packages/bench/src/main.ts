import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describeMachine } from './harness/machine';
import { writeReport, type BenchResults } from './report/write-report';
import { runAppendSuite } from './suites/append';
import { runClusterSuite, type ClusterSize } from './suites/cluster';
import { runLoopSuite, type LoopSize } from './suites/loop';
import { runResumeSuite, type LiveContextSize, type ResumeSize } from './suites/resume';
import { runSandboxSuite, type SandboxSize } from './suites/sandbox';
import { runServerSuite, type ServerSize } from './suites/server';
import { runStoresSuite, type StoresSize } from './suites/stores';
import { runTeleportSuite, type TeleportSize } from './suites/teleport';

/** The benchmarks `--only` can pick. */
export const suiteNames = [
  'resume',
  'append',
  'loop',
  'teleport',
  'server',
  'stores',
  'sandbox',
  'cluster',
] as const;
export type SuiteName = (typeof suiteNames)[number];

export interface BenchOptions {
  /** A one-minute smoke run: small sizes, few repetitions, nothing written unless `out` is set. */
  quick: boolean;
  /** Where to write the report; by default BENCHMARKS.md at the repository root (full runs only). */
  out?: string;
  only?: readonly SuiteName[];
}

interface Plan {
  resume: ResumeSize[];
  liveContext: LiveContextSize;
  append: { fsync: boolean; appends: number; repetitions: number }[];
  loop: LoopSize[];
  teleport: TeleportSize[];
  server: ServerSize[];
  stores: StoresSize;
  sandbox: SandboxSize;
  cluster: ClusterSize;
}

const FULL: Plan = {
  // 100,000 events take seconds per contender on 2 cores: fewer repetitions there.
  resume: [
    { count: 1_000, repetitions: 7 },
    { count: 10_000, repetitions: 7 },
    { count: 100_000, repetitions: 3 },
  ],
  liveContext: { count: 100_000, every: 1_000, small: 1_000, repetitions: 5 },
  append: [
    { fsync: true, appends: 300, repetitions: 5 },
    { fsync: false, appends: 3_000, repetitions: 5 },
  ],
  loop: [
    { history: 0, steps: 30, repetitions: 5 },
    { history: 1_000, steps: 10, repetitions: 5 },
    { history: 10_000, steps: 3, repetitions: 3 },
  ],
  teleport: [
    { count: 1_000, repetitions: 7 },
    { count: 10_000, repetitions: 7 },
  ],
  // Each repetition is a fresh server process running every conversation at once.
  server: [{ conversations: 100, steps: 20, repetitions: 3 }],
  stores: { appends: 1_000, appendRepetitions: 3, resumeEvents: 10_000, resumeRepetitions: 5 },
  sandbox: { iterations: 30, repetitions: 5 },
  cluster: {
    conversations: 60,
    steps: 10,
    takeoverConversations: 20,
    leases: 1_000,
    renewalWindowSeconds: 10,
  },
};

const QUICK: Plan = {
  resume: [
    { count: 1_000, repetitions: 2 },
    { count: 10_000, repetitions: 1 },
  ],
  liveContext: { count: 30_000, every: 1_000, small: 1_000, repetitions: 2 },
  append: [
    { fsync: true, appends: 30, repetitions: 1 },
    { fsync: false, appends: 300, repetitions: 1 },
  ],
  loop: [
    { history: 0, steps: 5, repetitions: 1 },
    { history: 1_000, steps: 3, repetitions: 1 },
  ],
  teleport: [
    { count: 1_000, repetitions: 1 },
    { count: 10_000, repetitions: 1 },
  ],
  server: [{ conversations: 10, steps: 5, repetitions: 1 }],
  stores: { appends: 200, appendRepetitions: 1, resumeEvents: 10_000, resumeRepetitions: 1 },
  sandbox: { iterations: 5, repetitions: 1 },
  cluster: {
    conversations: 10,
    steps: 3,
    takeoverConversations: 3,
    leases: 100,
    renewalWindowSeconds: 3,
  },
};

/** The repository root: the folder holding pnpm-workspace.yaml, above this package. */
async function repositoryRoot(): Promise<string> {
  let dir = process.cwd();
  for (;;) {
    try {
      await readFile(join(dir, 'pnpm-workspace.yaml'));
      return dir;
    } catch {
      const parent = dirname(dir);
      if (parent === dir) return process.cwd();
      dir = parent;
    }
  }
}

/** The version of an installed package, found from its entry point upwards. */
function installedVersion(name: string): string {
  try {
    let dir = dirname(fileURLToPath(import.meta.resolve(name)));
    for (;;) {
      try {
        const manifest = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as {
          name?: string;
          version?: string;
        };
        if (manifest.name === name) return manifest.version ?? 'unknown';
      } catch {
        // no package.json here: keep climbing
      }
      const parent = dirname(dir);
      if (parent === dir) return 'unknown';
      dir = parent;
    }
  } catch {
    return 'unknown';
  }
}

function installedVersions(): Record<string, string> {
  const names = [
    '@ferry/sdk-core',
    '@ferry/server',
    '@ferry/workspace-remote',
    '@ferry/store-postgres',
    'ai',
    '@openai/agents',
    '@langchain/langgraph',
    '@langchain/core',
  ];
  return Object.fromEntries(names.map((name) => [name, installedVersion(name)]));
}

/** Runs the benchmarks and writes (or prints) the report. */
export async function runBenchmarks(options: BenchOptions): Promise<void> {
  const plan = options.quick ? QUICK : FULL;
  const selected = new Set<SuiteName>(options.only ?? suiteNames);
  const log = (message: string) => console.error(`[bench] ${message}`);
  const startedAt = new Date();
  const machine = describeMachine();
  const workDir = await mkdtemp(join(tmpdir(), 'ferry-bench-'));
  const results: BenchResults = {
    startedAt,
    durationSeconds: 0,
    quick: options.quick,
    machine,
    endLoadAverage: 0,
    versions: installedVersions(),
  };
  try {
    if (selected.has('resume')) {
      results.resume = await runResumeSuite({
        workDir,
        sizes: plan.resume,
        liveContext: plan.liveContext,
        log,
      });
    }
    if (selected.has('append')) {
      results.append = [];
      for (const item of plan.append) {
        results.append.push(await runAppendSuite({ workDir, ...item, log }));
      }
    }
    if (selected.has('loop')) {
      results.loop = await runLoopSuite({ workDir, sizes: plan.loop, log });
    }
    if (selected.has('teleport')) {
      results.teleport = await runTeleportSuite({ workDir, sizes: plan.teleport, log });
    }
    if (selected.has('server')) {
      results.server = await runServerSuite({ workDir, sizes: plan.server, log });
    }
    if (selected.has('stores')) {
      results.stores = await runStoresSuite({ workDir, size: plan.stores, log });
    }
    if (selected.has('sandbox')) {
      results.sandbox = await runSandboxSuite({ workDir, size: plan.sandbox, log });
    }
    if (selected.has('cluster')) {
      results.cluster = await runClusterSuite({ workDir, size: plan.cluster, log });
    }
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
  results.durationSeconds = (Date.now() - startedAt.getTime()) / 1000;
  results.endLoadAverage = loadavg()[0] ?? 0;
  const report = writeReport(results);
  const out =
    options.out ?? (options.quick ? undefined : join(await repositoryRoot(), 'BENCHMARKS.md'));
  if (out === undefined) {
    process.stdout.write(report);
  } else {
    await writeFile(out, report);
    log(`wrote ${out} in ${Math.round(results.durationSeconds)} s`);
  }
}
