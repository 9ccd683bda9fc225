import type { OutputListener } from './output-chunk';

/** Seconds `executeCommand` waits before killing a command, as in OpenHands. */
export const DEFAULT_COMMAND_TIMEOUT_SECONDS = 30;

/** Options of `Workspace.executeCommand`. */
export interface ExecuteCommandOptions {
  /** Directory to run in, relative to the working directory; defaults to the working directory. */
  cwd?: string;
  /**
   * Seconds before the command (and every process it started in its process group) is killed
   * and the result comes back with `timeout_occurred: true`. Defaults to
   * {@link DEFAULT_COMMAND_TIMEOUT_SECONDS}.
   */
  timeout?: number;
  /** Variables added to (or replacing) the workspace's environment for this command. */
  env?: Readonly<Record<string, string>>;
  /** Aborting kills the command; the call then rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Receives stdout and stderr while the command runs. */
  onOutput?: OutputListener;
}
