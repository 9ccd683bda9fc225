import { readdirSync, readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { peakRssMiB } from '../harness/child';
import { elapsedMs } from '../harness/stats';

/** The ways of loading a conversation that the resume benchmark compares. */
export const resumeApproaches = ['ferry', 'limit', 'files-sync', 'files-async'] as const;
export type ResumeApproach = (typeof resumeApproaches)[number];

/** Where one fixture's copies live. */
export interface ResumeFixture {
  /** Ferry's persistence root. */
  ferryRoot: string;
  conversationId: string;
  /** Ferry's `events/` folder of that conversation (the segments the limit reads). */
  segmentsDir: string;
  /** The folder holding OpenHands' `events/event-NNNNN-<id>.json` files. */
  openHandsDir: string;
  count: number;
}

/** What one child measured. */
export interface ResumeSample {
  approach: ResumeApproach;
  /** Time to a loaded, verified conversation (for the baselines: all events parsed). */
  loadMs: number;
  /** `loadMs` plus building the next LLM request (Ferry only; the baselines build none). */
  totalMs: number;
  /** Events in memory at the end, to prove each approach read them all. */
  events: number;
  peakRssMiB: number;
  /** Ferry: how the live context was found (`snapshot`: only it was read). */
  liveContext?: string;
}

const SEGMENT = /^segment-\d{6,}\.jsonl$/;

/**
 * Runs one baseline once, in this (fresh) process. Only node:fs is loaded here, so the peak memory
 * is that of the data.
 */
export async function loadBaselineOnce(
  approach: Exclude<ResumeApproach, 'ferry'>,
  fixture: ResumeFixture,
): Promise<ResumeSample> {
  const start = process.hrtime.bigint();
  let events = 0;
  let loadMs: number;
  let totalMs: number;
  switch (approach) {
    case 'limit': {
      const names = (await readdir(fixture.segmentsDir))
        .filter((name) => SEGMENT.test(name))
        .sort();
      const parsed: unknown[] = [];
      for (const name of names) {
        const text = await readFile(join(fixture.segmentsDir, name), 'utf8');
        for (const line of text.split('\n')) if (line !== '') parsed.push(JSON.parse(line));
      }
      loadMs = totalMs = elapsedMs(start);
      events = parsed.length;
      break;
    }
    case 'files-sync': {
      const dir = join(fixture.openHandsDir, 'events');
      const parsed: unknown[] = [];
      for (const name of readdirSync(dir).sort()) {
        parsed.push(JSON.parse(readFileSync(join(dir, name), 'utf8')));
      }
      loadMs = totalMs = elapsedMs(start);
      events = parsed.length;
      break;
    }
    case 'files-async': {
      const dir = join(fixture.openHandsDir, 'events');
      const parsed: unknown[] = [];
      for (const name of (await readdir(dir)).sort()) {
        parsed.push(JSON.parse(await readFile(join(dir, name), 'utf8')));
      }
      loadMs = totalMs = elapsedMs(start);
      events = parsed.length;
      break;
    }
  }
  if (events !== fixture.count) {
    throw new Error(`${approach}: read ${events} events, expected ${fixture.count}`);
  }
  return { approach, loadMs, totalMs, events, peakRssMiB: peakRssMiB() };
}
