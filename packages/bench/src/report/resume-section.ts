import type { ResumeSuiteResult } from '../suites/resume';
import { formatCount, formatNumber, formatRatio, formatSummary, MiB, table } from './format';
import { resumeTrustLines } from './resume-trust';

/** Section 1: cold resume against the limit and the file-per-event layout. */
export function resumeSection(resume: ResumeSuiteResult): string {
  const rows = resume.sizes.map((size) => [
    formatCount(size.count),
    `${(size.bytes / MiB).toFixed(1)} MiB`,
    String(size.repetitions),
    formatSummary(size.ferryOpen, ' ms'),
    formatSummary(size.ferry, ' ms'),
    formatSummary(size.limit, ' ms'),
    formatSummary(size.filesSync, ' ms'),
    formatSummary(size.filesAsync, ' ms'),
  ]);
  const ratios = resume.sizes.map((size) => [
    formatCount(size.count),
    formatRatio(size.ferryOverLimit),
    formatRatio(size.ferryOpenOverLimit),
    formatRatio(size.filesSyncOverFerry),
    formatRatio(size.filesAsyncOverFerry),
    formatRatio(size.filesSyncOverLimit),
  ]);
  const memory = resume.sizes.map((size) => [
    formatCount(size.count),
    formatSummary(size.peakRss.ferry, ' MiB'),
    formatSummary(size.peakRss.limit, ' MiB'),
    formatSummary(size.peakRss['files-sync'], ' MiB'),
    formatSummary(size.peakRss['files-async'], ' MiB'),
  ]);
  return [
    '## 1. Cold resume',
    '',
    'Each measurement is a fresh Node process (modules loaded before the clock starts; the page ' +
      'cache is warm, since every contender reads files written moments before). **Ferry** is ' +
      '`LocalConversation.open` with a runtime agent (lock, state, `verifyAgent`, the log index ' +
      'and the context snapshot; this log has no condensation, so its live context is the whole ' +
      'log, and the snapshot says so: the open reads none of it), then `nextLLMContext()` for the ' +
      'next request (every line read and checked, each event parsed into its typed document and ' +
      'converted). **(a) limit**: `readFile` of the same segment bytes and `JSON.parse` of ' +
      "each line. **(b)** OpenHands' layout, one file per event (`events/event-NNNNN-<id>.json`), " +
      '`readdirSync` + `readFileSync` + `JSON.parse`. **(c)** the same files read one at a time ' +
      'with `fs.promises`. Each repetition runs all four in a rotating order.',
    '',
    table(
      [
        'Events',
        'Log size',
        'Runs',
        'Ferry open',
        'Ferry open + next request',
        '(a) limit',
        '(b) file per event, sync',
        '(c) file per event, async',
      ],
      rows,
    ),
    '',
    'Ratios, each taken within one repetition:',
    '',
    table(
      ['Events', 'Ferry / (a)', 'Ferry open only / (a)', '(b) / Ferry', '(c) / Ferry', '(b) / (a)'],
      ratios,
    ),
    '',
    `Peak memory (max RSS of the process). A Node process that only loaded \`@ferry/sdk-core\` peaks at ` +
      `${formatNumber(resume.idleFerryRssMiB)} MiB; a bare one at ${formatNumber(resume.idleNodeRssMiB)} MiB.`,
    '',
    table(['Events', 'Ferry', '(a) limit', '(b) sync', '(c) async'], memory),
    ...liveContextLines(resume.liveContext),
    ...resumeTrustLines(),
  ].join('\n');
}

function liveContextLines(live: ResumeSuiteResult['liveContext']): string[] {
  if (live === undefined) return [];
  return [
    '',
    `**Live context.** A ${formatCount(live.count)}-event conversation (${(live.bytes / MiB).toFixed(1)} MiB ` +
      `of log) that condensed every ${formatCount(live.every)} events (each \`Condensation\` keeps ` +
      'the first message and the newer half of the rest), so about ' +
      `${formatCount(live.every)} events are in its context, against ${formatCount(live.small)} events ` +
      'without condensation; both written by Ferry and closed once (so the log index and the ' +
      'context snapshot are on disk, as a conversation that ran leaves them), both resumed ready to ' +
      `request, in alternating order, ${live.repetitions} runs each. The long one found its live ` +
      `context from: ${[...new Set(live.sources)].join(', ')}.`,
    '',
    table(
      ['Conversation', 'Ready to request', 'Open only', 'Peak memory'],
      [
        [
          `${formatCount(live.count)} events, condensed`,
          formatSummary(live.long, ' ms'),
          formatSummary(live.longOpen, ' ms'),
          formatSummary(live.longRss, ' MiB'),
        ],
        [
          `${formatCount(live.small)} events`,
          formatSummary(live.short, ' ms'),
          '',
          formatSummary(live.shortRss, ' MiB'),
        ],
        ['Ratio (within each run)', formatRatio(live.timeRatio), '', formatRatio(live.memoryRatio)],
      ],
    ),
  ];
}

/** Section 6: how resume time and memory grow with the log, from the resume runs. */
export function scalingSection(resume: ResumeSuiteResult): string {
  const rows = resume.sizes.map((size) => [
    formatCount(size.count),
    formatNumber((size.ferry.median / size.count) * 1000) + ' ms',
    formatNumber((size.limit.median / size.count) * 1000) + ' ms',
    formatNumber(((size.peakRss.ferry.median - resume.idleFerryRssMiB) / size.count) * 1000) +
      ' MiB',
    formatNumber(((size.peakRss.limit.median - resume.idleNodeRssMiB) / size.count) * 1000) +
      ' MiB',
  ]);
  const first = resume.sizes[0];
  const last = resume.sizes.at(-1);
  let reading = '';
  if (first !== undefined && last !== undefined && last.count > first.count) {
    const growth = Math.log(last.count / first.count);
    const timeExponent = Math.log(last.ferry.median / first.ferry.median) / growth;
    const memoryExponent =
      Math.log(
        (last.peakRss.ferry.median - resume.idleFerryRssMiB) /
          Math.max(1, first.peakRss.ferry.median - resume.idleFerryRssMiB),
      ) / growth;
    const word = (exponent: number) => (exponent <= 1.1 ? 'linear or better' : 'worse than linear');
    reading =
      `From ${formatCount(first.count)} to ${formatCount(last.count)} events, Ferry's resume time grows ` +
      `as n^${timeExponent.toFixed(2)} (${word(timeExponent)}) and its memory above the idle process ` +
      `as n^${memoryExponent.toFixed(2)} (${word(memoryExponent)}). Small sizes carry fixed costs ` +
      '(lock, state write with fsync), so per-event figures fall as the log grows.';
  }
  return [
    '## 6. Scaling',
    '',
    'Per 1,000 events, from the resume runs above (medians):',
    '',
    table(
      ['Events', 'Ferry time', '(a) limit time', 'Ferry memory over idle', '(a) memory over idle'],
      rows,
    ),
    '',
    reading,
  ].join('\n');
}
