import type { StoresSuiteResult } from '../suites/stores';
import { formatCount, formatRatio, formatSummary, table } from './format';

/** The section comparing `PostgresStore` with the file store (appends and resume loads). */
export function storesSection(stores: StoresSuiteResult, quick: boolean): string {
  const appendRows = [
    [
      'file store (`FileConversationStore`, fsync on)',
      formatSummary(stores.file.perSecond),
      formatSummary(stores.file.p50Ms, ' ms'),
      formatSummary(stores.file.p99Ms, ' ms'),
      '1x',
    ],
    [
      '`PostgresStore`',
      formatSummary(stores.postgres.perSecond),
      formatSummary(stores.postgres.p50Ms, ' ms'),
      formatSummary(stores.postgres.p99Ms, ' ms'),
      formatRatio(stores.postgresOverFile),
    ],
  ];
  const resumeRows = [
    [
      'read + parse floor (segment bytes, `JSON.parse` per line)',
      formatSummary(stores.resumeFloorMs, ' ms'),
      '1x',
    ],
    [
      'file store',
      formatSummary(stores.resumeFileMs, ' ms'),
      formatRatio(stores.resumeFileOverFloor),
    ],
    [
      '`PostgresStore`',
      formatSummary(stores.resumePostgresMs, ' ms'),
      formatRatio(stores.resumePostgresOverFloor),
    ],
  ];
  const server = `PostgreSQL ${stores.server.version}${stores.server.throwaway ? ' (a throwaway server the benchmark started, fsync off)' : ' on the same machine'}`;
  return [
    '## Stores: PostgreSQL beside files',
    '',
    ...(quick
      ? ['**Figures from a `--quick` (smoke) run: small sizes, one repetition.**', '']
      : []),
    `The same events through both \`ConversationStore\`s in one run, against ${server}. ` +
      'Appends: one event per `appendEvents`, each awaited, under a lease (each Postgres append is ' +
      'one fenced transaction: lock the conversation row, compare the lease token, insert, ' +
      'NOTIFY, commit). Repetitions alternate which store goes first.',
    '',
    table(
      ['Store', 'Appends/s', 'p50 latency', 'p99 latency', 'appends/s vs file store'],
      appendRows,
    ),
    '',
    `${formatCount(stores.appends)} appends per run, ${stores.appendRepetitions} runs.`,
    '',
    `Resuming a ${formatCount(stores.resumeEvents)}-event conversation: \`LocalConversation.open\` ` +
      'with a runtime agent in this process (lease, state, verification, every event read and ' +
      "checked), beside the floor of reading the file store's segment bytes and parsing each line. " +
      `${stores.resumeRepetitions} runs.`,
    '',
    table(['Resume', 'Time', 'vs floor'], resumeRows),
  ].join('\n');
}
