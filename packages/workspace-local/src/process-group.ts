import type { ChildProcess } from 'node:child_process';
import { constants } from 'node:os';

/** How long to wait for a process to react to a signal before trying a harder one. */
export const SIGNAL_GRACE_MS = 2_000;

/** After a process exits, how long its pipes may stay open (held by its background children). */
const DRAIN_MS = 200;

/**
 * Sends `signal` to the whole process group led by `child` (spawned with `detached: true`),
 * so the command and everything it started receive it. A group that is gone is ignored.
 */
export function signalProcessGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // The group has already exited.
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
