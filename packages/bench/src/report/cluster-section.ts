import type { ClusterSuiteResult } from '../suites/cluster';
import { formatCount, formatNumber, table } from './format';

/** The section on server replicas sharing one PostgreSQL (issue 15). */
export function clusterSection(cluster: ClusterSuiteResult, quick: boolean): string {
  const { size } = cluster;
  const rows = cluster.delivery.map((item) => [
    item.setup,
    formatCount(item.events),
    formatNumber(item.eventsPerSecond),
    `${formatNumber(item.p50Ms)} ms`,
    `${formatNumber(item.p99Ms)} ms`,
  ]);
  return [
    '## Cluster: replicas on one PostgreSQL',
    '',
    `${size.conversations} conversations run at once (${size.steps} \`think\` steps and \`finish\` ` +
      'each, a scripted LLM answering at once), created round-robin on the replicas, each watched ' +
      'by an events socket on the next replica (on the same server when there is one). ' +
      "Latency: from the event's timestamp (set by the replica running it) to its arrival on the " +
      'socket. Every process (replicas, PostgreSQL, the LLM, the clients) shares the same 2 cores, ' +
      'so more replicas add coordination, not capacity, here. Events/s is bounded by the runs ' +
      'themselves (one LLM round trip per step), not a capacity limit. On PostgreSQL every socket ' +
      'follows the database (a NOTIFY, then a read of the new rows), also for conversations its ' +
      'own replica runs: that round trip, on a loaded machine, is most of the extra latency.' +
      (quick ? ' Quick run: small sizes, not a measurement.' : ''),
    '',
    table(['setup', 'events', 'events/s', 'p50 delivery', 'p99 delivery'], rows),
    '',
    `Takeover: ${size.takeoverConversations} conversations running on a replica that is SIGKILLed; ` +
      `**${formatNumber(cluster.takeoverMs)} ms** from the kill to the first event the survivor ` +
      `wrote, seen on a socket (\`--lease-ttl ${cluster.takeoverTtlSeconds}\`; bar: TTL + 5 s). ` +
      'Both replicas share a host, so the survivor sees the dead process at once; across hosts ' +
      'it waits for the lease to lapse (up to the TTL, plus one scan every TTL/3).',
    '',
    `Lease renewal: ${formatCount(size.leases)} leases held by one store for ` +
      `${size.renewalWindowSeconds} s with a ${cluster.renewal.ttlSeconds} s TTL: ` +
      `**${formatNumber(cluster.renewal.statementsPerSecond)} statements/s** ` +
      `(${cluster.renewal.storeStatements} statements, every lease renewed in each). One statement ` +
      'every TTL/3 per replica whatever the number of leases: 0.2/s at the default 15 s TTL, where ' +
      `one statement per lease would be ${formatNumber(size.leases / 5)}/s.`,
  ].join('\n');
}
