import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';

/** The argument that makes the bench CLI run one task as a child process. */
export const CHILD_FLAG = '--child';

/**
 * Runs `task` in a fresh Node process (this same CLI with `--child`), so that its peak memory is
 * its own and no JIT or cache state carries over from other measurements. Resolves with the JSON
 * the child printed on its last line of output.
 */
export function runChild<Result>(
  task: string,
  input: unknown,
  script = cliPath(),
): Promise<Result> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [...childNodeArgs(), script, CHILD_FLAG, task, JSON.stringify(input)],
      { maxBuffer: 16 * 1024 * 1024, env: { ...process.env, NODE_OPTIONS: '' } },
      (error, stdout, stderr) => {
        if (error !== null) {
          reject(new Error(`child task ${task} failed: ${error.message}\n${stderr}`));
          return;
        }
        const last = stdout.trim().split('\n').at(-1) ?? '';
        try {
          resolve(JSON.parse(last) as Result);
        } catch {
          reject(new Error(`child task ${task} printed no result: ${stdout}\n${stderr}`));
        }
      },
    );
  });
}

/**
 * Node flags for the children from `FERRY_BENCH_CHILD_NODE_ARGS` (space-separated), for
 * profiling a measurement where it runs: `--cpu-prof --cpu-prof-dir=/tmp/prof`.
 */
function childNodeArgs(): string[] {
  return (process.env.FERRY_BENCH_CHILD_NODE_ARGS ?? '').split(' ').filter((arg) => arg !== '');
}

/** The script this process was started with: the bench CLI (`dist/cli.js`). */
function cliPath(): string {
  const script = process.argv[1];
  if (script === undefined) throw new Error('runChild: no script path in process.argv');
  return script;
}

/**
 * Peak resident set size of this process so far, in MiB. On Linux it is the process's own
 * high-water mark (`VmHWM` of `/proc/self/status`): `maxRSS` (getrusage) survives the `exec` of
 * a child process and so starts at its parent's peak, which made every child started by a
 * benchmark that had grown to 190 MiB report 190 MiB.
 */
export function peakRssMiB(): number {
  try {
    const match = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    if (match?.[1] !== undefined) return Number(match[1]) / 1024;
  } catch {
    // Not Linux: getrusage's figure, with the caveat above.
  }
  return process.resourceUsage().maxRSS / 1024;
}
