import { describe, expect, it } from 'vitest';
import type { Summary } from '../harness/stats';
import type { AppendResult } from '../suites/append';
import type { LoopContender, LoopContenderResult, LoopResult } from '../suites/loop';
import type { ResumeResult } from '../suites/resume';
import type { ServerResult } from '../suites/server';
import type { TeleportResult } from '../suites/teleport';
import { writeReport, type BenchResults } from './write-report';

/** A summary of three runs around `median`. */
function spread(median: number): Summary {
  return { median, min: median * 0.9, max: median * 1.25, runs: 3 };
}

const MiB = 1024 * 1024;

function resumeSize(count: number, scale: number): ResumeResult {
  return {
    count,
    bytes: count * 1400,
    repetitions: 3,
    ferryOpen: spread(0.9 * scale),
    ferry: spread(1.2 * scale),
    limit: spread(scale),
    filesSync: spread(1.6 * scale),
    filesAsync: spread(5.5 * scale),
    ferryOverLimit: spread(1.2),
    ferryOpenOverLimit: spread(0.9),
    filesSyncOverFerry: spread(1.33),
    filesSyncOverFerryOpen: spread(1.78),
    filesAsyncOverFerry: spread(4.6),
    filesSyncOverLimit: spread(1.6),
    peakRss: {
      ferry: spread(60 + count / 400),
      limit: spread(45 + count / 500),
      'files-sync': spread(48 + count / 450),
      'files-async': spread(50 + count / 420),
    },
  };
}

function contender(stepMs: number, ferry: boolean): LoopContenderResult {
  return {
    stepMs: spread(stepMs),
    runPerCallMs: spread(stepMs * 1.4),
    ...(ferry ? { fsyncsPerStep: spread(2), fsyncsPerCall: spread(2.5) } : {}),
  };
}

function loopSize(history: number, factor: number): LoopResult {
  const contenders: Record<LoopContender, LoopContenderResult> = {
    'ferry-memory': contender(0.4 * factor, false),
    'ferry-memory-provider': contender(0.9 * factor, false),
    'ferry-disk': { ...contender(4.2 * factor, true), fsyncsPerStep: spread(2 + factor / 4) },
    'openai-agents': contender(0.7 * factor, false),
    langgraph: contender(0.3 * factor, false),
    'langgraph-memory-saver': contender(1.9 * factor, false),
  };
  return {
    history,
    messages: history / 2 + 3,
    steps: 40,
    repetitions: 5,
    contenders,
    peerOverFerry: {
      'openai-agents': spread(1.75),
      langgraph: spread(0.75),
      'langgraph-memory-saver': spread(4.75),
    },
    breakdown: {
      contextMs: 3.1 * factor,
      incrementalContextMs: 0.05 * factor,
      callInProcessMs: 0.12 * factor,
      streamTextMs: 2.4 * factor,
      callLLMMs: 0.6 * factor,
    },
  };
}

function teleportSize(count: number, scale: number): TeleportResult {
  return {
    count,
    logBytes: count * 1400,
    bundleBytes: count * 210,
    repetitions: 3,
    teleport: spread(120 * scale),
    export: spread(40 * scale),
    import: spread(60 * scale),
    rest: spread(20 * scale),
    rawUpload: spread(10 * scale),
    teleportOverRaw: spread(12),
    floor: spread(90 * scale),
    teleportOverFloor: spread(1.33),
    back: spread(15 * scale),
    open: spread(7 * scale),
    backOverTeleport: spread(0.125),
    moved: spread(8 * scale),
    movedOverTeleport: spread(0.066),
    openOverTeleport: spread(0.06),
    ready: spread(6 * scale),
    backReadyOverTeleport: spread(0.175),
    again: spread(9 * scale),
    againOverTeleport: spread(0.075),
    backBytes: 21_500,
    firstFileBytes: count * 1500,
    againFileBytes: 73_000,
    exportOverRaw: spread(4),
    importOverRaw: spread(6),
  };
}

/** An append result; `perSecond` and `p50Ms` are Ferry's and the bare loop's medians. */
function appendResult(options: {
  fsync: boolean;
  appends: number;
  perSecond: [number, number];
  p50Ms: [number, number];
}): AppendResult {
  const [ferryRate, bareRate] = options.perSecond;
  const [ferryP50, bareP50] = options.p50Ms;
  return {
    fsync: options.fsync,
    appends: options.appends,
    repetitions: 3,
    meanBytes: 1412.6,
    ferry: { perSecond: spread(ferryRate), p50Ms: spread(ferryP50), p99Ms: spread(ferryP50 * 2.5) },
    bare: { perSecond: spread(bareRate), p50Ms: spread(bareP50), p99Ms: spread(bareP50 * 2.3) },
    ferryOverBare: spread(ferryRate / bareRate),
    fsyncsPerAppend: options.fsync ? 1 : 0,
  };
}

function serverSize(conversations: number, faults: number): ServerResult {
  return {
    conversations,
    steps: 20,
    repetitions: 2,
    events: spread(conversations * 45),
    seconds: spread(conversations / 20),
    eventsPerSecond: spread(900),
    fromTimestampP50: spread(12),
    fromTimestampP99: spread(85),
    fromFanOutP50: spread(1.5),
    fromFanOutP99: spread(9),
    lost: faults,
    duplicated: 0,
    outOfOrder: faults === 0 ? 0 : 1,
    dropped: 0,
    logged: conversations * 90,
    llmRequests: spread(conversations * 21),
    serverCpuShare: spread(0.95),
    serverCpuPerCallMs: spread(1.1),
    clientCpuShare: spread(0.6),
    startRssMiB: spread(70),
    peakRssMiB: spread(180),
  };
}

const base = {
  startedAt: new Date('2026-12-01T08:15:42.000Z'),
  durationSeconds: 312.4,
  machine: {
    cpu: 'Test CPU @ 2.0GHz',
    cores: 2,
    memoryGiB: 7.75,
    freeMemoryGiB: 5.21,
    node: 'v22.11.0',
    os: 'Linux 6.1.0 x64',
    loadAverage: 0.42,
  },
  endLoadAverage: 1.87,
  versions: { '@openai/agents': '0.20.0', '@langchain/langgraph': '1.7.3', ai: '6.0.326' },
} satisfies Partial<BenchResults>;

/** Every suite measured, with some bars met and some not. */
const full: BenchResults = {
  ...base,
  quick: false,
  resume: {
    sizes: [resumeSize(1000, 4), resumeSize(10_000, 35), resumeSize(100_000, 420)],
    liveContext: {
      count: 100_000,
      every: 1000,
      small: 1000,
      repetitions: 4,
      bytes: 140 * MiB,
      sources: ['snapshot', 'snapshot', 'snapshot', 'snapshot'],
      long: spread(18),
      longOpen: spread(11),
      short: spread(9),
      longRss: spread(82),
      shortRss: spread(61),
      timeRatio: spread(2),
      memoryRatio: spread(1.34),
    },
    idleFerryRssMiB: 55.5,
    idleNodeRssMiB: 42.25,
    fixtureSeconds: 12,
  },
  append: [
    appendResult({ fsync: true, appends: 2000, perSecond: [410, 520], p50Ms: [2.3, 1.8] }),
    appendResult({
      fsync: false,
      appends: 20_000,
      perSecond: [21_000, 64_000],
      p50Ms: [0.04, 0.012],
    }),
  ],
  loop: {
    sizes: [loopSize(100, 1), loopSize(1000, 2), loopSize(10_000, 7)],
    fsyncLatencyMs: spread(1.9),
  },
  teleport: {
    sizes: [teleportSize(1000, 1), teleportSize(10_000, 8)],
    serverPeakRssMiB: 240.5,
  },
  server: { sizes: [serverSize(10, 0), serverSize(100, 3)] },
  stores: {
    server: { location: 'postgres://127.0.0.1:5432/bench', throwaway: false, version: '15.8' },
    appends: 1000,
    appendRepetitions: 3,
    file: { perSecond: spread(400), p50Ms: spread(2.4), p99Ms: spread(6) },
    postgres: { perSecond: spread(900), p50Ms: spread(1.05), p99Ms: spread(3.2) },
    postgresOverFile: spread(2.25),
    resumeEvents: 10_000,
    resumeRepetitions: 3,
    resumeFileMs: spread(40),
    resumePostgresMs: spread(95),
    resumeFloorMs: spread(30),
    resumePostgresOverFloor: spread(3.17),
    resumeFileOverFloor: spread(1.33),
  },
  cluster: {
    size: {
      conversations: 40,
      steps: 10,
      takeoverConversations: 8,
      leases: 500,
      renewalWindowSeconds: 30,
    },
    delivery: [
      {
        setup: 'one server, file store',
        replicas: 1,
        events: 1760,
        eventsPerSecond: 640,
        p50Ms: 3,
        p99Ms: 14,
      },
      {
        setup: 'two replicas, PostgreSQL',
        replicas: 2,
        events: 1760,
        eventsPerSecond: 410,
        p50Ms: 9.5,
        p99Ms: 48,
      },
    ],
    takeoverTtlSeconds: 3,
    takeoverMs: 1240,
    renewal: { ttlSeconds: 3, statementsPerSecond: 1.02, storeStatements: 31 },
  },
  sandbox: {
    size: { iterations: 50, repetitions: 5 },
    ms: {
      host: {
        shellStart: spread(12),
        shellCommand: spread(1.1),
        command: spread(3.5),
        readFile: spread(0.08),
      },
      sandbox: {
        shellStart: spread(31),
        shellCommand: spread(1.2),
        command: spread(14),
        readFile: spread(9),
      },
    },
    ratio: {
      shellStart: spread(2.6),
      shellCommand: spread(1.09),
      command: spread(4),
      readFile: spread(112),
    },
  },
};

describe('writeReport', () => {
  it('renders every suite of a full run', async () => {
    await expect(writeReport(full)).toMatchFileSnapshot('__snapshots__/report-full.md.txt');
  });

  it('renders a quick run on a shared machine with nothing measured', async () => {
    const report = writeReport({
      ...base,
      quick: true,
      machine: { ...base.machine, loadAverage: 2.5 },
    });
    await expect(report).toMatchFileSnapshot('__snapshots__/report-empty.md.txt');
  });

  it('renders a quick run of the stores and cluster suites, every bar met', async () => {
    const report = writeReport({
      ...full,
      quick: true,
      resume: {
        ...full.resume!,
        sizes: [{ ...resumeSize(10_000, 35), ferryOverLimit: spread(1.1) }],
        liveContext: undefined,
      },
      append: undefined,
      loop: { ...full.loop!, sizes: [loopSize(1000, 1)].map(metLoop) },
      teleport: {
        ...full.teleport!,
        sizes: [{ ...teleportSize(10_000, 8), backOverTeleport: spread(0.05) }],
      },
      server: { sizes: [{ ...serverSize(100, 0), serverCpuShare: spread(0.4) }] },
      stores: { ...full.stores!, server: { ...full.stores!.server, throwaway: true } },
    });
    await expect(report).toMatchFileSnapshot('__snapshots__/report-quick.md.txt');
  });
});

/** `size` with Ferry faster than both peers. */
function metLoop(size: LoopResult): LoopResult {
  return {
    ...size,
    peerOverFerry: { ...size.peerOverFerry, langgraph: spread(1.5) },
    contenders: {
      ...size.contenders,
      'ferry-disk': { ...size.contenders['ferry-disk'], fsyncsPerStep: spread(2) },
    },
  };
}
