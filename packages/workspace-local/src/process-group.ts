import type { ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';

/** How long to wait for a process to react to a signal before trying a harder one. */
export const SIGNAL_GRACE_MS = 2_000;

/** After a process exits, how long its pipes may stay open (held by its background children). */
const DRAIN_MS = 200;

/**
 * Sends `signal` to the whole process group led by `child` (spawned with `detached: true`),
 * so the command and everything it started receive it. A group that is gone is ignored.
 *
 * `sandboxDepth` is for a program bubblewrap runs `sandboxDepth` processes below `child`: an
 * interactive bash in there leads a process group of its own, which gets the signal too.
 */
export function signalProcessGroup(
  child: ChildProcess,
  signal: NodeJS.Signals,
  sandboxDepth = 0,
): void {
  if (child.pid === undefined) return;
  let pid: number | undefined = child.pid;
  for (let level = 0; level < sandboxDepth && pid !== undefined; level++) pid = firstChild(pid);
  const groups = pid === undefined || pid === child.pid ? [child.pid] : [pid, child.pid];
  for (const group of groups) {
    try {
      process.kill(-group, signal);
    } catch {
      // The group has already exited (or the process leads none).
    }
  }
}

/** The oldest child of `pid` (Linux's `/proc/<pid>/task/<pid>/children`), if any. */
function firstChild(pid: number): number | undefined {
  try {
    const first = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(' ')[0];
    return first === undefined || first === '' ? undefined : Number(first);
  } catch {
    return undefined;
  }
}

/** Exit code and signal of a child process, as the `exit` event reports them. */
export interface ProcessExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/**
 * Resolves when `child` has exited and its output pipes are read to the end, or shortly after
 * exit when background processes it left behind keep them open (their output is not waited for).
 */
export function waitForExit(child: ChildProcess): Promise<ProcessExit> {
  return new Promise((resolve, reject) => {
    let exit: ProcessExit | undefined;
    child.once('error', reject);
    child.once('close', (code: number | null, signal: NodeJS.Signals | null) =>
      resolve(exit ?? { code, signal }),
    );
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        resolve({ code, signal });
      }, DRAIN_MS).unref();
    });
  });
}

/** A shell-style exit code: the process's own, or 128 + the number of the signal that killed it. */
export function shellExitCode({ code, signal }: ProcessExit): number {
  if (code !== null) return code;
  return 128 + (signal === null ? 0 : constants.signals[signal]);
}
