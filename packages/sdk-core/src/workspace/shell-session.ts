import { z } from 'zod';
import type { OutputListener } from './output-chunk';

/**
 * The result of one `ShellSession.run` call. `output` is stdout and stderr interleaved as a
 * terminal shows them. `exit_code` is `-1` while the command is still running (a timeout with
 * `interruptOnTimeout: false`); an interrupted command reports the shell's code (130 after
 * SIGINT). `working_dir` is the shell's directory after the command.
 */
export const shellRunResultSchema = z.looseObject({
  command: z.string(),
  exit_code: z.number().int(),
  output: z.string(),
  timeout_occurred: z.boolean(),
  working_dir: z.string(),
});
export type ShellRunResult = z.infer<typeof shellRunResultSchema>;

/** Options of `ShellSession.run`. */
export interface ShellRunOptions {
  /** Seconds before the command times out; no limit when absent. */
  timeout?: number;
  /**
   * What a timeout does. `true` (default): the command is interrupted (SIGINT to its process
   * group, then harder) and the call returns once the shell is ready again. `false`: the call
   * returns with `exit_code: -1` and the command keeps running; follow up with `isInput` calls.
   */
  interruptOnTimeout?: boolean;
  /** Aborting interrupts the command; the call rejects with the signal's reason once the shell is ready. */
  signal?: AbortSignal;
  /** Receives output while the command runs (always as `stream: 'stdout'`). */
  onOutput?: OutputListener;
  /**
   * Send `command` as input to the command that is still running instead of starting a new
   * one: the text and a newline go to its stdin, `"C-c"` interrupts it, and `""` just waits
   * for more output. The result holds the output produced since the previous call returned.
   */
  isInput?: boolean;
}

/**
 * A persistent shell: the working directory, environment variables and shell functions set by
 * one command are visible to the next, as in a terminal. One command runs at a time.
 * `await using` closes it.
 */
export interface ShellSession extends AsyncDisposable {
  /** The session's id, unique within its workspace. */
  readonly id: string;
  /** True while a command started by `run` has not finished. */
  readonly busy: boolean;
  /**
   * Runs `command` in the shell and resolves when it finishes or times out. Throws
   * `ShellSessionError` (`busy`) when a command is still running and `isInput` is not set.
   */
  run(command: string, options?: ShellRunOptions): Promise<ShellRunResult>;
  /** Kills whatever runs and starts a fresh shell in the workspace's working directory. */
  reset(): Promise<void>;
  /** Kills the shell and everything it started; later calls throw `ShellSessionError` (`closed`). */
  close(): Promise<void>;
}

/** Options of `Workspace.openShell`. */
export interface OpenShellOptions {
  /** Session id; opening an id that is already open returns that session. A new id when absent. */
  id?: string;
}
