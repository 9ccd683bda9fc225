import { appendSection } from './append-section';
import { bars } from './bars';
import type { BenchResults } from './bench-results';
import { clusterSection } from './cluster-section';
import { table } from './format';
import { loopSection } from './loop-section';
import { machineSection } from './machine-section';
import { readingSection } from './reading-section';
import { resumeSection, scalingSection } from './resume-section';
import { sandboxSection } from './sandbox-section';
import { serverSection } from './server-section';
import { storesSection } from './stores-section';
import { teleportSection } from './teleport-section';

export type { BenchResults } from './bench-results';

/** The Markdown of BENCHMARKS.md. */
export function writeReport(results: BenchResults): string {
  const list = bars(results);
  const sections = [
    '# Ferry benchmarks',
    '',
    `Produced by \`pnpm bench\` (package \`packages/bench\`). Every figure is the median of repeated ` +
      'runs with the minimum and maximum in brackets; every comparison is a ratio measured in the ' +
      'same run (within one repetition), then summarised the same way.',
    '',
    '## Machine',
    '',
    machineSection(results),
    '',
    '## How to reproduce',
    '',
    '```sh',
    'npx -y pnpm@10.34.8 install --frozen-lockfile',
    'npx -y pnpm@10.34.8 bench              # full run, writes BENCHMARKS.md (about 5 minutes on 2 cores)',
    'npx -y pnpm@10.34.8 bench -- --quick   # one-minute smoke run, prints the report, writes nothing',
    '```',
    '',
    'Fixtures are generated from a fixed seed into a temporary folder and removed afterwards. ' +
      'See `packages/bench/README.md` for what each benchmark does.',
    '',
    '## Bars (DESIGN.md section 12)',
    '',
    table(
      ['Bar', 'Measured', 'Verdict'],
      list.map((bar) => [
        bar.bar,
        bar.figure,
        bar.verdict === 'NOT met' ? '**NOT met**' : bar.verdict,
      ]),
    ),
    '',
    readingSection(results, list),
  ];
  if (results.resume !== undefined) sections.push('', resumeSection(results.resume));
  if (results.append !== undefined) sections.push('', appendSection(results.append));
  if (results.loop !== undefined) sections.push('', loopSection(results.loop));
  if (results.teleport !== undefined) sections.push('', teleportSection(results.teleport));
  if (results.server !== undefined) sections.push('', serverSection(results.server));
  if (results.resume !== undefined) sections.push('', scalingSection(results.resume));
  if (results.stores !== undefined) sections.push('', storesSection(results.stores, results.quick));
  if (results.cluster !== undefined) {
    sections.push('', clusterSection(results.cluster, results.quick));
  }
  if (results.sandbox !== undefined) sections.push('', sandboxSection(results.sandbox));
  return `${sections.join('\n')}\n`;
}
