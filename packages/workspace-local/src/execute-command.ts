import type { CommandResult, OutputListener } from '@ferry/sdk-core';
import { spawn } from 'node:child_process';
import type { Readable } from 'node:stream';
import { hostLauncher } from './launcher';
import type { Launcher } from './launcher';
import { SIGNAL_GRACE_MS, shellExitCode, signalProcessGroup, waitForExit } from './process-group';
import { timeoutMilliseconds } from './timeout';

/** What {@link executeCommand} needs, already resolved by the workspace. */
export interface ExecuteCommandRequest {
  command: string;
  cwd: string;
  env: NodeJS.ProcessEnv;
  /** Seconds; `Infinity` for no limit. */
  timeout: number;
  signal?: AbortSignal;
  onOutput?: OutputListener;
  /** Where `bash` runs: on the host (default) or in a sandbox. */
  launcher?: Launcher;
}

/**
 * Runs `bash -c command` in its own process group with stdin at end-of-file. On timeout or
 * abort the whole group gets SIGTERM, then SIGKILL if it lingers.
 */
export async function executeCommand(request: ExecuteCommandRequest): Promise<CommandResult> {
  const { command, signal, onOutput } = request;
  signal?.throwIfAborted();
  const launch = (request.launcher ?? hostLauncher)(['bash', '-c', command], {
    cwd: request.cwd,
    env: request.env,
  });
  const child = spawn(launch.command, launch.args, {
    cwd: launch.cwd,
    env: launch.env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = waitForExit(child);
  const stdout = collect(child.stdout, 'stdout', onOutput);
  const stderr = collect(child.stderr, 'stderr', onOutput);

  let stoppedBy: 'timeout' | 'abort' | undefined;
  const stop = (reason: 'timeout' | 'abort') => {
    stoppedBy ??= reason;
    signalProcessGroup(child, 'SIGTERM', launch.depth);
    setTimeout(() => signalProcessGroup(child, 'SIGKILL', launch.depth), SIGNAL_GRACE_MS).unref();
  };
  const limit = timeoutMilliseconds(request.timeout);
  const timer = limit === undefined ? undefined : setTimeout(() => stop('timeout'), limit);
  const onAbort = () => stop('abort');
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const exit = await exited;
    if (stoppedBy === 'abort') throw signal?.reason;
    return {
      command,
      exit_code: stoppedBy === 'timeout' ? -1 : shellExitCode(exit),
      stdout: stdout.text(),
      stderr: stderr.text(),
      timeout_occurred: stoppedBy === 'timeout',
    };
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

function collect(
  stream: Readable,
  name: 'stdout' | 'stderr',
  onOutput: OutputListener | undefined,
): { text(): string } {
  const decoder = new TextDecoder();
  let text = '';
  const append = (piece: string) => {
    if (piece === '') return;
    text += piece;
    onOutput?.({ stream: name, text: piece });
  };
  stream.on('data', (data: Buffer) => append(decoder.decode(data, { stream: true })));
  return {
    text() {
      append(decoder.decode());
      return text;
    },
  };
}
