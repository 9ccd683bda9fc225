import type { ServerSuiteResult } from '../suites/server';
import { formatCount, formatSummary, table } from './format';

/** Section 5: the server under load, throughput, delivery latency and lost events. */
export function serverSection(server: ServerSuiteResult): string {
  const rows = server.sizes.map((size) => [
    formatCount(size.conversations),
    String(size.steps),
    String(size.repetitions),
    formatSummary(size.events),
    formatSummary(size.seconds, ' s'),
    formatSummary(size.eventsPerSecond),
    `${formatSummary(size.fromFanOutP50, ' ms')} / ${formatSummary(size.fromFanOutP99, ' ms')}`,
    `${formatSummary(size.fromTimestampP50, ' ms')} / ${formatSummary(size.fromTimestampP99, ' ms')}`,
  ]);
  const delivery = server.sizes.map((size) => [
    formatCount(size.conversations),
    `${formatCount(size.lost)} of ${formatCount(size.logged)}`,
    formatCount(size.duplicated),
    formatCount(size.outOfOrder),
    formatCount(size.dropped),
    formatSummary(size.llmRequests),
    `${formatSummary(size.serverCpuShare)} / ${formatSummary(size.serverCpuPerCallMs, ' ms')}`,
    formatSummary(size.clientCpuShare),
    formatSummary(size.startRssMiB, ' MiB'),
    formatSummary(size.peakRssMiB, ' MiB'),
  ]);
  return [
    '## 5. Server under load',
    '',
    'One `@ferry/server` in a child process (a fresh one, with an empty data folder, per ' +
      'repetition; API key on; fsync on, the default) runs every conversation at once. Each ' +
      'conversation is a scripted task: N calls of the no-op `think` tool, then a reply that ends ' +
      'the run, against a scripted OpenAI-compatible model (`startScriptedLLMServer` of ' +
      '`@ferry/sdk-core/testing`, zero latency, streaming) in the benchmark process. Each ' +
      'conversation has one subscriber on `/sockets/events/{id}` (`resend_mode=all`), a bare ' +
      'WebSocket client on `node:http` that never reconnects, so a dropped subscriber or a missed ' +
      'frame shows. The conversations are created, subscribed to, then all started with one ' +
      '`POST .../events` (`run: true`) each.',
    '',
    '- **Events/s**: events appended during the runs (counted by the server) over the time from ' +
      "the first start request to the last conversation's `finished` reaching its subscriber.",
    '- **Delivery latency**, over every event appended during the runs: from the moment the server ' +
      'hands the event to its subscribers (a listener registered in the server process before the ' +
      'sockets, so just after the durable append) to the subscriber reading the frame; and from ' +
      "the event's own `timestamp`, taken when it is created, before its durable append (write " +
      "and fsync; timestamps have millisecond resolution). Both clocks are the machine's wall clock.",
    '- **Lost**: after the runs, every log is read through `GET .../events/search` and compared ' +
      "with its subscriber's frames: events never received, received twice, or in another order.",
    '',
    table(
      [
        'Conversations',
        'Steps each',
        'Runs',
        'Events per run',
        'Wall time',
        'Events/s',
        'Latency p50 / p99 from fan-out',
        'Latency p50 / p99 from event timestamp',
      ],
      rows,
    ),
    '',
    table(
      [
        'Conversations',
        'Lost (of logged, all runs)',
        'Doubled',
        'Out of order (conversations)',
        'Subscribers dropped',
        'LLM requests per run',
        'Server CPU: cores busy / ms per LLM call',
        'Benchmark process (model + subscribers): cores busy',
        'Server RSS after start',
        'Server peak RSS',
      ],
      delivery,
    ),
  ].join('\n');
}
