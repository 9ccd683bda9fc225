/** A program to spawn: what runs, where and with which environment. */
export interface Launch {
  command: string;
  args: string[];
  cwd: string;
  env: NodeJS.ProcessEnv;
  /**
   * How many processes below the spawned one the program runs (2 in a bubblewrap sandbox: bwrap
   * and its init), so interrupts can reach a process group the program makes there.
   */
  depth: number;
}

/**
 * Turns `argv` (to run in `cwd` with `env`) into what to spawn: the program itself on the host,
 * or bubblewrap running it in the workspace's sandbox.
 */
export type Launcher = (
  argv: readonly [string, ...string[]],
  context: { cwd: string; env: NodeJS.ProcessEnv },
) => Launch;

/** Runs programs directly on the host. */
export const hostLauncher: Launcher = ([command, ...args], { cwd, env }) => ({
  command,
  args,
  cwd,
  env,
  depth: 0,
});
