import type { BenchResults } from './bench-results';
import { table } from './format';

/** The machine and the run: what every figure of the report was measured on. */
export function machineSection(results: BenchResults): string {
  const { machine } = results;
  // The end figure includes the benchmark's own last suite (the server one keeps both cores
  // busy), so only the load found at the start says other work was running.
  const shared = machine.loadAverage > 1;
  return [
    table(
      ['What', 'Value'],
      [
        ['Date', `${results.startedAt.toISOString().replace('T', ' ').slice(0, 16)} UTC`],
        ['CPU', `${machine.cpu}, ${machine.cores} cores`],
        [
          'Memory',
          `${machine.memoryGiB.toFixed(1)} GiB (${machine.freeMemoryGiB.toFixed(1)} GiB free at the start)`,
        ],
        ['OS', machine.os],
        ['Node', machine.node],
        [
          'Load average (1 min) at start / end',
          `${machine.loadAverage.toFixed(2)} / ${results.endLoadAverage.toFixed(2)}`,
        ],
        [
          'Packages',
          Object.entries(results.versions)
            .map(([name, version]) => `${name} ${version}`)
            .join(', '),
        ],
        [
          'Run',
          `${results.quick ? 'quick (smoke) run' : 'full run'}, ${Math.round(results.durationSeconds)} s`,
        ],
      ],
    ),
    '',
    shared
      ? '**The machine was shared with other work during this run** (load average above 1 on ' +
        `${machine.cores} cores): absolute times are inflated and noisy. Ratios are taken within ` +
        'one repetition, so they suffer less, but re-run on a quiet machine before quoting numbers.'
      : "The machine was quiet when this run started (load average at most 1; the end figure includes the benchmark's own server suite).",
  ].join('\n');
}
