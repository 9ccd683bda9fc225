import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { conversationFolderName } from '@ferry/sdk-core';
import { withCondensations } from '../fixtures/condensations';
import { generateEvents } from '../fixtures/generate-events';
import { writeFerryConversationDir, writeOpenHandsLayout } from '../fixtures/write-fixtures';
import { runChild } from '../harness/child';
import { rotate, summarize, type Summary } from '../harness/stats';
import {
  resumeApproaches,
  type ResumeApproach,
  type ResumeFixture,
  type ResumeSample,
} from './resume-approaches';

/** One conversation size and how many times to resume it. */
export interface ResumeSize {
  count: number;
  repetitions: number;
}

/** The figures of one size; every ratio is taken within one repetition, then summarised. */
export interface ResumeResult {
  count: number;
  /** Bytes of the event log (the same bytes the limit reads). */
  bytes: number;
  repetitions: number;
  /** Ferry: open (lock, state, verify, load and check every line). */
  ferryOpen: Summary;
  /** Ferry: open plus `buildLLMContext` (the bar's figure). */
  ferry: Summary;
  limit: Summary;
  filesSync: Summary;
  filesAsync: Summary;
  /** ferry / limit. */
  ferryOverLimit: Summary;
  /** ferryOpen / limit. Bar: at most 1.5. */
  ferryOpenOverLimit: Summary;
  /** filesSync / ferry. */
  filesSyncOverFerry: Summary;
  /** filesSync / ferryOpen. Bar: at least 2. */
  filesSyncOverFerryOpen: Summary;
  /** filesAsync / ferry. */
  filesAsyncOverFerry: Summary;
  /** filesSync / limit: how much one file per event costs over one file on this machine. */
  filesSyncOverLimit: Summary;
  /** Peak RSS of each approach's process, MiB. */
  peakRss: Record<ResumeApproach, Summary>;
}

/**
 * A long conversation that condensed as it went, whose live context is about `every` events,
 * against a short one of `small` events without condensation (DESIGN.md section 12).
 */
export interface LiveContextSize {
  count: number;
  every: number;
  small: number;
  repetitions: number;
}

/** The live-context comparison; ratios taken within each repetition. */
export interface LiveContextResult extends LiveContextSize {
  /** Log bytes of the long conversation. */
  bytes: number;
  /** How the long conversation's live context was found in each run (`snapshot` expected). */
  sources: string[];
  long: Summary;
  longOpen: Summary;
  short: Summary;
  longRss: Summary;
  shortRss: Summary;
  /** long / short ready-to-request time. Bar: at most 3. */
  timeRatio: Summary;
  /** long / short peak RSS. Bar: at most 2. */
  memoryRatio: Summary;
}

/** The resume benchmark's results, with the memory of a child that only loaded Ferry. */
export interface ResumeSuiteResult {
  sizes: ResumeResult[];
  liveContext?: LiveContextResult;
  /** Peak RSS of a process that imported `@ferry/sdk-core` and did nothing else, MiB. */
  idleFerryRssMiB: number;
  /** Peak RSS of a bare Node process (what the baselines start from), MiB. */
  idleNodeRssMiB: number;
  /** Seconds spent writing the fixtures (not measured). */
  fixtureSeconds: number;
}

const CONVERSATION_ID = '6f1f3c2a-93b4-4d8e-9a51-0c7f2b9d1e45';

async function writeFixture(
  workDir: string,
  count: number,
  options: { condenseEvery?: number; openHands?: boolean; name?: string } = {},
): Promise<ResumeFixture> {
  const dir = join(workDir, options.name ?? `resume-${count}`);
  let events = generateEvents({ count, seed: count });
  if (options.condenseEvery) events = withCondensations(events, { every: options.condenseEvery });
  const ferryRoot = join(dir, 'ferry');
  await writeFerryConversationDir({ root: ferryRoot, conversationId: CONVERSATION_ID, events });
  const openHandsDir = join(dir, 'openhands');
  if (options.openHands !== false) await writeOpenHandsLayout({ dir: openHandsDir, events });
  return {
    ferryRoot,
    conversationId: CONVERSATION_ID,
    segmentsDir: join(ferryRoot, conversationFolderName(CONVERSATION_ID), 'events'),
    openHandsDir,
    count,
  };
}

async function folderBytes(dir: string): Promise<number> {
  let total = 0;
  for (const name of await readdir(dir)) total += (await stat(join(dir, name))).size;
  return total;
}

/**
 * Writes each size's fixtures (Ferry's log and OpenHands' layout of the same events), then
 * resumes them in fresh child processes: each repetition runs every approach once, in a rotating
 * order, and the ratios are taken within the repetition.
 */
export async function runResumeSuite(options: {
  workDir: string;
  sizes: readonly ResumeSize[];
  liveContext?: LiveContextSize;
  log: (message: string) => void;
}): Promise<ResumeSuiteResult> {
  const results: ResumeResult[] = [];
  let fixtureSeconds = 0;
  for (const size of options.sizes) {
    const started = performance.now();
    options.log(`resume: writing ${size.count} events (Ferry log and one file per event)`);
    const fixture = await writeFixture(options.workDir, size.count);
    fixtureSeconds += (performance.now() - started) / 1000;
    const bytes = await folderBytes(fixture.segmentsDir);

    const samples = new Map<ResumeApproach, ResumeSample[]>(
      resumeApproaches.map((approach) => [approach, []]),
    );
    for (let repetition = 0; repetition < size.repetitions; repetition += 1) {
      for (const approach of rotate(resumeApproaches, repetition)) {
        const sample = await runChild<ResumeSample>('resume', { approach, fixture });
        samples.get(approach)?.push(sample);
      }
      options.log(`resume: ${size.count} events, repetition ${repetition + 1}/${size.repetitions}`);
    }
    const of = (approach: ResumeApproach) => samples.get(approach) ?? [];
    const ratio = (pick: (index: number) => number) =>
      summarize(Array.from({ length: size.repetitions }, (_, index) => pick(index)));
    const total = (approach: ResumeApproach, index: number) => of(approach)[index]?.totalMs ?? NaN;
    const ferryOpen = (index: number) => of('ferry')[index]?.loadMs ?? NaN;
    results.push({
      count: size.count,
      bytes,
      repetitions: size.repetitions,
      ferryOpen: summarize(of('ferry').map((sample) => sample.loadMs)),
      ferry: summarize(of('ferry').map((sample) => sample.totalMs)),
      limit: summarize(of('limit').map((sample) => sample.totalMs)),
      filesSync: summarize(of('files-sync').map((sample) => sample.totalMs)),
      filesAsync: summarize(of('files-async').map((sample) => sample.totalMs)),
      ferryOverLimit: ratio((index) => total('ferry', index) / total('limit', index)),
      ferryOpenOverLimit: ratio((index) => ferryOpen(index) / total('limit', index)),
      filesSyncOverFerry: ratio((index) => total('files-sync', index) / total('ferry', index)),
      filesSyncOverFerryOpen: ratio((index) => total('files-sync', index) / ferryOpen(index)),
      filesAsyncOverFerry: ratio((index) => total('files-async', index) / total('ferry', index)),
      filesSyncOverLimit: ratio((index) => total('files-sync', index) / total('limit', index)),
      peakRss: Object.fromEntries(
        resumeApproaches.map((approach) => [
          approach,
          summarize(of(approach).map((sample) => sample.peakRssMiB)),
        ]),
      ) as Record<ResumeApproach, Summary>,
    });
  }
  const liveContext =
    options.liveContext === undefined
      ? undefined
      : await runLiveContext(options.workDir, options.liveContext, options.log);
  const idleFerry = await runChild<{ peakRssMiB: number }>('idle', { ferry: true });
  const idleNode = await runChild<{ peakRssMiB: number }>('idle', { ferry: false });
  return {
    sizes: results,
    ...(liveContext === undefined ? {} : { liveContext }),
    idleFerryRssMiB: idleFerry.peakRssMiB,
    idleNodeRssMiB: idleNode.peakRssMiB,
    fixtureSeconds,
  };
}

/**
 * Resumes, ready to request, a long conversation that condensed every `every` events and a
 * short one without condensation, alternating which goes first, each in a fresh process.
 */
async function runLiveContext(
  workDir: string,
  size: LiveContextSize,
  log: (message: string) => void,
): Promise<LiveContextResult> {
  log(`resume: writing ${size.count} events condensed every ${size.every}, and ${size.small}`);
  const long = await writeFixture(workDir, size.count, {
    condenseEvery: size.every,
    openHands: false,
    name: `live-${size.count}-condensed`,
  });
  const short = await writeFixture(workDir, size.small, {
    openHands: false,
    name: `live-${size.small}`,
  });
  const bytes = await folderBytes(long.segmentsDir);
  const longSamples: ResumeSample[] = [];
  const shortSamples: ResumeSample[] = [];
  for (let repetition = 0; repetition < size.repetitions; repetition += 1) {
    const order = repetition % 2 === 0 ? ['long', 'short'] : ['short', 'long'];
    for (const which of order) {
      const fixture = which === 'long' ? long : short;
      const sample = await runChild<ResumeSample>('resume', { approach: 'ferry', fixture });
      (which === 'long' ? longSamples : shortSamples).push(sample);
    }
    log(`resume: live context, repetition ${repetition + 1}/${size.repetitions}`);
  }
  const ratio = (pick: (sample: ResumeSample) => number) =>
    summarize(
      longSamples.map((sample, index) => {
        const other = shortSamples[index];
        return other === undefined ? NaN : pick(sample) / pick(other);
      }),
    );
  return {
    ...size,
    bytes,
    sources: longSamples.map((sample) => sample.liveContext ?? 'unknown'),
    long: summarize(longSamples.map((sample) => sample.totalMs)),
    longOpen: summarize(longSamples.map((sample) => sample.loadMs)),
    short: summarize(shortSamples.map((sample) => sample.totalMs)),
    longRss: summarize(longSamples.map((sample) => sample.peakRssMiB)),
    shortRss: summarize(shortSamples.map((sample) => sample.peakRssMiB)),
    timeRatio: ratio((sample) => sample.totalMs),
    memoryRatio: ratio((sample) => sample.peakRssMiB),
  };
}
