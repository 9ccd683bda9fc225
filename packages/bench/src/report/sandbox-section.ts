import type { SandboxOperation, SandboxSuiteResult } from '../suites/sandbox';
import { formatRatio, formatSummary, table } from './format';

const OPERATION_NAMES: Record<SandboxOperation, string> = {
  shellStart: 'Open a shell session (`openShell`, ready, closed)',
  shellCommand: "`true` in an open shell session (`shell.run('true')`)",
  command: "One-shot command (`executeCommand('true')`)",
  readFile: 'Read a 1 KiB file (`readFile`)',
};

/** The "Sandbox" section of BENCHMARKS.md. */
export function sandboxSection(sandbox: SandboxSuiteResult): string {
  const rows = (Object.keys(OPERATION_NAMES) as SandboxOperation[]).map((operation) => [
    OPERATION_NAMES[operation],
    formatSummary(sandbox.ms.host[operation], ' ms'),
    formatSummary(sandbox.ms.sandbox[operation], ' ms'),
    formatRatio(sandbox.ratio[operation]),
  ]);
  return [
    '## 7. Sandbox',
    '',
    'What `LocalWorkspace({ sandbox: true })` (bubblewrap) costs per call beside the same ' +
      'workspace on the host, in one run: each repetition times both (in a rotating order), ' +
      `${sandbox.size.iterations} calls of each operation, and keeps the median call; the table ` +
      `shows the median over ${sandbox.size.repetitions} repetitions, and the ratio is taken ` +
      'within each repetition.',
    '',
    table(['Operation', 'Host', 'Sandboxed', 'Sandboxed / host'], rows),
    '',
    'A shell session pays for its sandbox once, when it starts (bwrap sets up the namespaces ' +
      'and mounts); a command in an open session then costs what it costs on the host. A ' +
      'one-shot command and each file operation start a sandbox of their own, so they pay it ' +
      "every time: the agent's `terminal` tool uses the session, `file_editor` the file calls.",
  ].join('\n');
}
