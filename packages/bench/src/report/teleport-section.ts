import type { TeleportSuiteResult } from '../suites/teleport';
import {
  formatBytes,
  formatCount,
  formatNumber,
  formatPercent,
  formatRatio,
  formatSummary,
  MiB,
  table,
} from './format';

/** Section 4: `teleport()` against the floor, and the delta teleports back and again. */
export function teleportSection(teleport: TeleportSuiteResult): string {
  const rows = teleport.sizes.map((size) => [
    formatCount(size.count),
    `${(size.logBytes / MiB).toFixed(1)} MiB`,
    `${(size.bundleBytes / MiB).toFixed(2)} MiB`,
    String(size.repetitions),
    formatSummary(size.teleport, ' ms'),
    formatSummary(size.floor, ' ms'),
    formatSummary(size.export, ' ms'),
    formatSummary(size.import, ' ms'),
    formatSummary(size.rest, ' ms'),
    formatSummary(size.rawUpload, ' ms'),
  ]);
  const ratios = teleport.sizes.map((size) => [
    formatCount(size.count),
    formatRatio(size.teleportOverFloor),
    formatRatio(size.teleportOverRaw),
    formatRatio(size.exportOverRaw),
    formatRatio(size.importOverRaw),
    `${formatNumber(size.logBytes / MiB / (size.teleport.median / 1000))} MiB/s`,
  ]);
  const deltas = teleport.sizes.map((size) => [
    formatCount(size.count),
    formatSummary(size.back, ' ms'),
    formatSummary(size.moved, ' ms'),
    formatPercent(size.movedOverTeleport),
    formatPercent(size.backOverTeleport),
    formatSummary(size.ready, ' ms'),
    formatPercent(size.backReadyOverTeleport),
    formatSummary(size.open, ' ms'),
    `${formatBytes(size.backBytes)} (whole: ${formatBytes(size.bundleBytes)})`,
    formatSummary(size.again, ' ms'),
    formatPercent(size.againOverTeleport),
    `${formatBytes(size.againFileBytes)} (whole: ${formatBytes(size.firstFileBytes)})`,
  ]);
  return [
    '## 4. Teleport',
    '',
    'A conversation of realistic events (the generator above), persisted on this machine, is ' +
      "teleported to a real `@ferry/server` over loopback with `@ferry/workspace-remote`'s " +
      '`teleport()`: the bundle (a gzip-compressed tar of the state and the log, with a manifest ' +
      'of checksums) is exported and streamed as the upload, the server checks it and imports it ' +
      '(pending, all or nothing), the local copy is parked, the server confirms the arrival, and ' +
      "a `RemoteConversation` is attached to the server's copy. Against it, **the floor**: " +
      '`tar -cf - <conversation folder> | gzip -1` streamed as one HTTP POST (`node:http`) to a ' +
      '`node:http` server that pipes it into `tar -xzf` and answers once extracted (copying the ' +
      'folder, checking nothing); and **raw upload**: one POST of the bundle bytes, from memory, ' +
      'to a server that reads the body and answers. Both servers live in one child process, the ' +
      'client in the benchmark process. For the split two more contenders run on their own: ' +
      '**export alone** builds the bundle and reads it to the end; **upload + import** POSTs the ' +
      "bundle's bytes to the server's import route and waits for its answer. **Rest** is the " +
      'teleport less those two, per repetition. Each repetition runs the five in a rotating ' +
      "order, on a fresh copy of the conversation (the server's copy is deleted between " +
      'contenders); a first, unmeasured round warms both ends up.',
    '',
    'The teleport contender then goes on (issue #19, delta teleports): 50 messages are sent to ' +
      'the conversation on the server, and **back** is `teleport()` bringing it home: this side ' +
      'describes its parked copy (the size, SHA-256 and line count of every file; a segment this ' +
      'process exported, imported or appended to, unchanged since, is not read again), the ' +
      'server proves the same prefix of its own copy the same way and answers a delta bundle, ' +
      'the server copy is parked, the delta is checked and appended to the local copy ' +
      '(**moved**: until `teleport()` reports its `open` stage), and the conversation is opened ' +
      'here, ready to run (as every resume: the lock, the state, the agent verified, the log ' +
      'index and the lines after it, the context snapshot; the live context is read when first ' +
      'needed). **Then ready to request** is `nextLLMContext()` right after, which reads, ' +
      'checks and converts that live context. **Resume alone** is the same resume, open and ' +
      'ready to request, before the conversation first left: every round trip starts from a ' +
      'conversation whose history is in memory, as after a run here. Then 50 messages are ' +
      'sent here and **again** is `teleport()` to the server ' +
      "once more (the server's parked copy is described by `GET .../bundle_base`, the delta " +
      'uploaded, imported pending and confirmed, the conversation opened there).',
    '',
    table(
      [
        'Events',
        'Log size',
        'Bundle',
        'Runs',
        '`teleport()`',
        'Floor (tar + gzip -1, upload, extract)',
        'Export alone',
        'Upload + import alone',
        'Rest (park + attach)',
        'Raw upload of the bundle',
      ],
      rows,
    ),
    '',
    'Ratios, each taken within one repetition:',
    '',
    table(
      [
        'Events',
        'Teleport / floor',
        'Teleport / raw upload',
        'Export alone / raw upload',
        'Upload + import / raw upload',
        'Teleport speed (log bytes)',
      ],
      ratios,
    ),
    '',
    'Back after 50 new events (deltas), ratios to the first teleport of the same repetition:',
    '',
    table(
      [
        'Events',
        'Back (server -> here)',
        'Moved (before the open)',
        'Moved / first',
        'Back / first',
        'Then ready to request',
        '(Back + ready) / first',
        'Resume alone, before it left',
        'Received (compressed)',
        'Again (here -> server)',
        'Again / first',
        'Files sent (uncompressed)',
      ],
      deltas,
    ),
    '',
    `Peak RSS of the server process over the whole benchmark: ${formatNumber(teleport.serverPeakRssMiB)} MiB.`,
  ].join('\n');
}
