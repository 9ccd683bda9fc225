import type { AppendResult } from '../suites/append';
import { formatCount, formatNumber, formatRatio, formatSummary, table } from './format';

/** Section 2: `EventLog.append` against a bare `appendFile` loop. */
export function appendSection(appends: readonly AppendResult[]): string {
  const rows = appends.flatMap((result) => {
    const label = result.fsync ? 'on' : 'off';
    return [
      [
        label,
        'Ferry `EventLog.append`',
        formatSummary(result.ferry.perSecond),
        formatSummary(result.ferry.p50Ms, ' ms'),
        formatSummary(result.ferry.p99Ms, ' ms'),
        formatRatio(result.ferryOverBare),
        formatNumber(result.fsyncsPerAppend),
      ],
      [
        label,
        'bare `appendFile`' + (result.fsync ? ' + `fsync`' : ''),
        formatSummary(result.bare.perSecond),
        formatSummary(result.bare.p50Ms, ' ms'),
        formatSummary(result.bare.p99Ms, ' ms'),
        '1x',
        result.fsync ? '1' : '0',
      ],
    ];
  });
  const first = appends[0];
  return [
    '## 2. Append',
    '',
    `One event per append, each awaited before the next (as the run loop appends), realistic ` +
      `events of ${first === undefined ? '?' : formatNumber(first.meanBytes)} bytes on average. ` +
      'Ferry: `EventLog.append` on a `LocalFileStore` (serialise, check the envelope, open the ' +
      'segment with `O_APPEND`, write, fsync, close). Bare: one open file handle, `appendFile` of ' +
      'the same bytes, then `fsync`. Repetitions alternate which goes first.',
    '',
    table(
      [
        'fsync',
        'Contender',
        'Appends/s',
        'p50 latency',
        'p99 latency',
        'Ferry / bare (appends/s)',
        'fsyncs per append',
      ],
      rows,
    ),
    '',
    appends
      .map(
        (result) =>
          `fsync ${result.fsync ? 'on' : 'off'}: ${formatCount(result.appends)} appends per run, ` +
          `${result.repetitions} runs.`,
      )
      .join(' '),
  ].join('\n');
}
