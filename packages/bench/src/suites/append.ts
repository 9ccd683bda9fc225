import { mkdir, open } from 'node:fs/promises';
import { join } from 'node:path';
import { EventLog, LocalFileStore, type StoredEvent } from '@ferry/sdk-core';
import { generateEvents } from '../fixtures/generate-events';
import { elapsedMs, percentile, summarize, type Summary } from '../harness/stats';

/** Throughput and latency of one contender over the repetitions. */
export interface AppendFigures {
  perSecond: Summary;
  p50Ms: Summary;
  p99Ms: Summary;
}

/** One append benchmark: fsync on or off. */
export interface AppendResult {
  fsync: boolean;
  /** Appends per repetition. */
  appends: number;
  repetitions: number;
  /** Mean bytes per appended line. */
  meanBytes: number;
  ferry: AppendFigures;
  bare: AppendFigures;
  /** Ferry's appends/s over the bare loop's, per repetition. */
  ferryOverBare: Summary;
  /** fsync calls per Ferry append (from `store.stats`), over all repetitions. */
  fsyncsPerAppend: number;
}

interface RunFigures {
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

function figures(latencies: number[], totalMs: number): RunFigures {
  return {
    perSecond: latencies.length / (totalMs / 1000),
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
  };
}

async function ferryRun(dir: string, events: readonly StoredEvent[], fsync: boolean) {
  const store = new LocalFileStore({ root: dir });
  const log = await EventLog.open({ store, fsync });
  const latencies: number[] = [];
  const before = store.stats.fsyncs;
  const start = process.hrtime.bigint();
  for (const event of events) {
    const appendStart = process.hrtime.bigint();
    await log.append(event);
    latencies.push(elapsedMs(appendStart));
  }
  const run = figures(latencies, elapsedMs(start));
  await log.close();
  return { run, fsyncs: store.stats.fsyncs - before };
}

/** The limit: one open file, `appendFile` of the same bytes, then `fsync`, one event at a time. */
async function bareRun(
  file: string,
  lines: readonly Buffer[],
  fsync: boolean,
): Promise<RunFigures> {
  const handle = await open(file, 'a');
  const latencies: number[] = [];
  const start = process.hrtime.bigint();
  try {
    for (const line of lines) {
      const appendStart = process.hrtime.bigint();
      await handle.appendFile(line);
      if (fsync) await handle.sync();
      latencies.push(elapsedMs(appendStart));
    }
    return figures(latencies, elapsedMs(start));
  } finally {
    await handle.close();
  }
}

function summarizeRuns(runs: readonly RunFigures[]): AppendFigures {
  return {
    perSecond: summarize(runs.map((run) => run.perSecond)),
    p50Ms: summarize(runs.map((run) => run.p50Ms)),
    p99Ms: summarize(runs.map((run) => run.p99Ms)),
  };
}

/**
 * Appends realistic events one at a time, each awaited (a durable append per event, as the run
 * loop does), through Ferry's `EventLog` on a `LocalFileStore` and through a bare
 * `appendFile` + `fsync` loop writing the same bytes; alternating which goes first.
 */
export async function runAppendSuite(options: {
  workDir: string;
  fsync: boolean;
  appends: number;
  repetitions: number;
  log: (message: string) => void;
}): Promise<AppendResult> {
  const events = generateEvents({ count: options.appends, seed: 42 });
  const lines = events.map((event) => Buffer.from(`${JSON.stringify(event)}\n`, 'utf8'));
  const meanBytes = lines.reduce((sum, line) => sum + line.length, 0) / lines.length;
  const ferry: RunFigures[] = [];
  const bare: RunFigures[] = [];
  let fsyncs = 0;
  for (let repetition = 0; repetition < options.repetitions; repetition += 1) {
    const base = join(
      options.workDir,
      `append-${options.fsync ? 'fsync' : 'nofsync'}-${repetition}`,
    );
    await mkdir(base, { recursive: true });
    const runFerry = async () => {
      const result = await ferryRun(join(base, 'ferry'), events, options.fsync);
      ferry.push(result.run);
      fsyncs += result.fsyncs;
    };
    const runBare = async () => {
      bare.push(await bareRun(join(base, 'bare.jsonl'), lines, options.fsync));
    };
    if (repetition % 2 === 0) {
      await runFerry();
      await runBare();
    } else {
      await runBare();
      await runFerry();
    }
    options.log(
      `append (fsync ${options.fsync ? 'on' : 'off'}): repetition ${repetition + 1}/${options.repetitions}`,
    );
  }
  return {
    fsync: options.fsync,
    appends: options.appends,
    repetitions: options.repetitions,
    meanBytes,
    ferry: summarizeRuns(ferry),
    bare: summarizeRuns(bare),
    ferryOverBare: summarize(
      ferry.map((run, index) => run.perSecond / (bare[index]?.perSecond ?? NaN)),
    ),
    fsyncsPerAppend: fsyncs / (options.appends * options.repetitions),
  };
}
