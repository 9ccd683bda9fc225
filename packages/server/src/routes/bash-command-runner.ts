import { WorkspaceFileError } from '@ferry/sdk-core';
import type { CommandResult, OutputChunk } from '@ferry/sdk-core';
import type { LocalWorkspace } from '@ferry/workspace-local';
import { randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import type { BashCommand, BashOutput, ExecuteBashRequest } from './bash-event';
import type { BashEventStore } from './bash-event-store';
import { toWorkspaceFileError } from './file-system-error';
import type { RouteWorkspaces } from './route-workspaces';

/** Characters of pending output that are recorded at once as a `BashOutput` piece. */
const OUTPUT_PIECE_LENGTH = 64 * 1024;
/** Pending output older than this is recorded, so pollers see a running command's progress. */
const OUTPUT_FLUSH_MS = 100;

/** How a command ended: its last `BashOutput` and its whole output. */
export interface FinishedCommand {
  last: BashOutput;
  stdout: string;
  stderr: string;
}

/** A command that runs in the background. */
export interface StartedCommand {
  command: BashCommand;
  /** Settles when the command ends; never rejects (a failure is recorded as output). */
  finished: Promise<FinishedCommand>;
}

/**
 * Runs commands of the bash routes in a workspace and records each as a `BashCommand` event
 * followed by its `BashOutput` pieces.
 */
export class BashCommandRunner {
  readonly #workspaces: RouteWorkspaces;
  readonly #events: BashEventStore;
  readonly #stop = new AbortController();
  readonly #running = new Set<Promise<FinishedCommand>>();

  constructor(options: { workspaces: RouteWorkspaces; events: BashEventStore }) {
    this.#workspaces = options.workspaces;
    this.#events = options.events;
  }

  /**
   * Checks the request's `cwd` (throwing `PathOutsideWorkspaceError` or `WorkspaceFileError`
   * before anything runs or is recorded), then starts the command.
   */
  async start(request: ExecuteBashRequest): Promise<StartedCommand> {
    const { workspace } = this.#workspaces.for(request.cwd ?? undefined);
    const cwd = await resolveCwd(workspace, request.cwd ?? undefined);
    const command: BashCommand = {
      kind: 'BashCommand',
      id: randomUUID(),
      timestamp: new Date().toISOString(),
      command: request.command,
      cwd: cwd ?? this.#workspaces.workspaceRoot,
      timeout: request.timeout,
    };
    this.#events.add(command);
    const finished = this.#run(workspace, command, cwd);
    this.#running.add(finished);
    void finished.finally(() => this.#running.delete(finished));
    return { command, finished };
  }

  /** Kills the commands still running and waits until they are recorded as ended. */
  async close(): Promise<void> {
    this.#stop.abort();
    await Promise.all(this.#running);
  }

  async #run(
    workspace: LocalWorkspace,
    command: BashCommand,
    cwd: string | undefined,
  ): Promise<FinishedCommand> {
    const output = new OutputRecorder(this.#events, command.id);
    let result: CommandResult;
    try {
      result = await workspace.executeCommand(command.command, {
        cwd,
        timeout: command.timeout,
        signal: this.#stop.signal,
        onOutput: (chunk) => output.append(chunk),
      });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      output.append({ stream: 'stderr', text: `Error executing command: ${reason}` });
      return output.finish(-1);
    }
    return output.finish(result.exit_code, result);
  }
}

/** The absolute `cwd` after checking it is a folder inside `workspace` (it is the root's when absent). */
async function resolveCwd(
  workspace: LocalWorkspace,
  cwd: string | undefined,
): Promise<string | undefined> {
  if (cwd === undefined) return undefined;
  const absolute = await workspace.resolvePath(cwd);
  // Sandboxed, the sandbox looks (and the command checks a symlink's target itself).
  const type = workspace.sandboxed
    ? (
        await workspace.stat(absolute).catch((error: unknown) => {
          if (!WorkspaceFileError.isInstance(error)) throw error;
          throw new WorkspaceFileError('run a command in', cwd, error.reason, { cause: error });
        })
      ).type
    : await stat(absolute).then(
        (info) => (info.isDirectory() ? 'directory' : 'file'),
        (error: unknown) => {
          throw toWorkspaceFileError('run a command in', cwd, error);
        },
      );
  if (type !== 'directory' && type !== 'symlink') {
    throw new WorkspaceFileError('run a command in', cwd, 'not_a_directory');
  }
  return absolute;
}

/** Turns a command's streamed output into numbered `BashOutput` pieces. */
class OutputRecorder {
  readonly #events: BashEventStore;
  readonly #commandId: string;
  #order = 0;
  #stdout = '';
  #stderr = '';
  #timer: NodeJS.Timeout | undefined;

  constructor(events: BashEventStore, commandId: string) {
    this.#events = events;
    this.#commandId = commandId;
  }

  append(chunk: OutputChunk): void {
    if (chunk.stream === 'stdout') this.#stdout += chunk.text;
    else this.#stderr += chunk.text;
    if (this.#stdout.length + this.#stderr.length >= OUTPUT_PIECE_LENGTH) {
      this.#record(null);
    } else {
      this.#timer ??= setTimeout(() => this.#record(null), OUTPUT_FLUSH_MS).unref();
    }
  }

  /**
   * Records the last piece, with the exit code, and answers the whole output (the last
   * piece's when the command failed to run and there is no result).
   */
  finish(exitCode: number, result?: CommandResult): FinishedCommand {
    const last = this.#record(exitCode);
    return {
      last,
      stdout: result?.stdout ?? last.stdout ?? '',
      stderr: result?.stderr ?? last.stderr ?? '',
    };
  }

  #record(exitCode: number | null): BashOutput {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const piece: BashOutput = {
      kind: 'BashOutput',
      id: randomUUID(),
      timestamp: new Date().toISOString(),
      command_id: this.#commandId,
      order: this.#order++,
      exit_code: exitCode,
      stdout: this.#stdout === '' ? null : this.#stdout,
      stderr: this.#stderr === '' ? null : this.#stderr,
    };
    this.#stdout = '';
    this.#stderr = '';
    this.#events.add(piece);
    return piece;
  }
}
