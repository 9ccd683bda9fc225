import { ShellSessionError } from '@ferry/sdk-core';
import type {
  OutputListener,
  ShellRunOptions,
  ShellRunResult,
  ShellSession,
} from '@ferry/sdk-core';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { ansiCQuote } from './ansi-c-quote';
import { SIGNAL_GRACE_MS, shellExitCode, signalProcessGroup, waitForExit } from './process-group';
import type { ProcessExit } from './process-group';
import { markerCommand, ShellMarkerParser } from './shell-markers';
import type { ShellMarker } from './shell-markers';
import { timeoutMilliseconds } from './timeout';

/** Output printed while no command runs (by background jobs) is kept up to this many characters. */
const MAX_IDLE_OUTPUT = 1_000_000;

/** Sent when a session starts: no prompts, no history, no `!` expansion. */
const SETUP =
  "\\builtin set +H +o history; PS1=''; PS2=''; PS0=''; " +
  '\\builtin unset PROMPT_COMMAND HISTFILE MAILCHECK';

/** What a {@link LocalShellSession} needs from its workspace. */
export interface LocalShellSessionOptions {
  id: string;
  workingDir: string;
  env: NodeJS.ProcessEnv;
  /** Called once the session is closed, so the workspace forgets it. */
  onClose?: () => void;
}

/** A command started in the shell, until its result has been handed out. */
class RunningCommand {
  readonly nonces = new Set<string>();
  output = '';
  listener: OutputListener | undefined;
  finished: { exitCode: number; workingDir: string } | undefined;
  readonly done: Promise<void>;
  #resolveDone!: () => void;

  constructor(readonly command: string) {
    this.done = new Promise((resolve) => (this.#resolveDone = resolve));
  }

  append(text: string): void {
    this.output += text;
    this.listener?.({ stream: 'stdout', text });
  }

  finish(exitCode: number, workingDir: string): void {
    if (this.finished !== undefined) return;
    this.finished = { exitCode, workingDir };
    this.#resolveDone();
  }

  /** The output since the last call. */
  takeOutput(): string {
    const output = this.output;
    this.output = '';
    return output;
  }
}

/** The running bash of a session. */
interface ShellProcess {
  child: ChildProcess;
  exited: Promise<ProcessExit>;
  ready: Promise<void>;
}

/**
 * A persistent `bash` on the host. Each command is sent to one long-lived interactive shell
 * (`bash --noprofile --norc -i` without a terminal), wrapped so the shell prints a marker with
 * the exit code and `$PWD` when it is done. Interrupting works as Ctrl-C does in a terminal:
 * SIGINT to the shell's process group makes bash abandon the command and read the next one;
 * when that is not enough, SIGTERM (which an interactive bash ignores) stops the command's
 * processes, and as a last resort the shell is killed and a fresh one starts.
 */
export class LocalShellSession implements ShellSession {
  readonly id: string;
  readonly #options: LocalShellSessionOptions;
  #process: ShellProcess | undefined;
  #current: RunningCommand | undefined;
  #waiting = false;
  #idleOutput = '';
  #workingDir: string;
  #closed = false;
  /** Calls in progress; while there are none, the shell does not keep the Node process alive. */
  #holds = 0;

  constructor(options: LocalShellSessionOptions) {
    this.id = options.id;
    this.#options = options;
    this.#workingDir = options.workingDir;
  }

  get busy(): boolean {
    return this.#current !== undefined && this.#current.finished === undefined;
  }

  async run(command: string, options: ShellRunOptions = {}): Promise<ShellRunResult> {
    if (this.#closed) throw new ShellSessionError(this.id, 'closed');
    return this.#hold(() => this.#run(command, options));
  }

  async #run(command: string, options: ShellRunOptions): Promise<ShellRunResult> {
    const limit = timeoutMilliseconds(options.timeout);
    options.signal?.throwIfAborted();
    if (this.#waiting) throw new ShellSessionError(this.id, 'busy');
    this.#waiting = true;
    try {
      const current = options.isInput === true ? this.#input(command) : await this.#start(command);
      current.listener = options.onOutput;
      if (options.isInput === true && command === 'C-c') await this.#interrupt(current);
      return await this.#waitFor(current, limit, options);
    } finally {
      this.#waiting = false;
    }
  }

  async reset(): Promise<void> {
    if (this.#closed) throw new ShellSessionError(this.id, 'closed');
    await this.#hold(async () => {
      await this.#kill();
      this.#idleOutput = '';
      this.#workingDir = this.#options.workingDir;
      await this.#ensureProcess().ready;
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#hold(() => this.#kill());
    this.#options.onClose?.();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #start(command: string): Promise<RunningCommand> {
    if (this.busy) throw new ShellSessionError(this.id, 'busy');
    const shell = this.#ensureProcess();
    await shell.ready;
    const current = new RunningCommand(command);
    current.output = this.#idleOutput;
    this.#idleOutput = '';
    this.#current = current;
    const nonce = newNonce();
    current.nonces.add(nonce);
    // One line: bash reads it whole, so a SIGINT abandons the command and its marker together.
    this.#write(shell, `\\builtin eval ${ansiCQuote(command)} 2>&1; ${markerCommand(nonce)}\n`);
    return current;
  }

  #input(text: string): RunningCommand {
    const current = this.#current;
    if (current === undefined || current.finished !== undefined || this.#process === undefined) {
      throw new ShellSessionError(this.id, 'no_running_command');
    }
    if (text !== '' && text !== 'C-c') this.#write(this.#process, `${text}\n`);
    return current;
  }

  async #waitFor(
    current: RunningCommand,
    limit: number | undefined,
    options: ShellRunOptions,
  ): Promise<ShellRunResult> {
    let timer: NodeJS.Timeout | undefined;
    let onAbort: (() => void) | undefined;
    const outcome = await new Promise<'done' | 'timeout' | 'abort'>((resolve) => {
      void current.done.then(() => resolve('done'));
      if (limit !== undefined) timer = setTimeout(() => resolve('timeout'), limit);
      onAbort = () => resolve('abort');
      options.signal?.addEventListener('abort', onAbort, { once: true });
    });
    clearTimeout(timer);
    if (onAbort !== undefined) options.signal?.removeEventListener('abort', onAbort);

    if (outcome === 'abort') {
      await this.#interrupt(current);
      this.#handOut(current);
      throw options.signal?.reason;
    }
    if (outcome === 'timeout' && options.interruptOnTimeout === false) {
      current.listener = undefined;
      return {
        command: current.command,
        exit_code: -1,
        output: current.takeOutput(),
        timeout_occurred: true,
        working_dir: this.#workingDir,
      };
    }
    if (outcome === 'timeout') await this.#interrupt(current);
    return this.#handOut(current, outcome === 'timeout');
  }

  /** The result of a finished command; the session is free for the next one. */
  #handOut(current: RunningCommand, timeoutOccurred = false): ShellRunResult {
    const finished = current.finished ?? { exitCode: -1, workingDir: this.#workingDir };
    if (this.#current === current) this.#current = undefined;
    return {
      command: current.command,
      exit_code: finished.exitCode,
      output: current.takeOutput(),
      timeout_occurred: timeoutOccurred,
      working_dir: finished.workingDir,
    };
  }

  /** Ctrl-C, then harder, until the command is over; as a last resort the shell is killed. */
  async #interrupt(current: RunningCommand): Promise<void> {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const shell = this.#process;
      if (current.finished !== undefined || shell === undefined) return;
      signalProcessGroup(shell.child, signal);
      // The command may have swallowed the previous marker line (it read stdin), so send a
      // fresh one; whichever marker of this command arrives first ends it.
      const nonce = newNonce();
      current.nonces.add(nonce);
      this.#write(shell, `${markerCommand(nonce)}\n`);
      if (await settlesWithin(current.done, SIGNAL_GRACE_MS)) return;
    }
    if (current.finished === undefined) await this.#kill();
  }

  /**
   * Runs `operation` with the shell counted as busy. An idle shell is unreferenced (the child
   * and its pipes), so a script that forgets `close()` still exits; while a call waits for the
   * shell it is referenced again, or Node could exit with that call unsettled.
   */
  async #hold<T>(operation: () => Promise<T>): Promise<T> {
    this.#holds += 1;
    this.#applyKeepAlive();
    try {
      return await operation();
    } finally {
      this.#holds -= 1;
      this.#applyKeepAlive();
    }
  }

  #applyKeepAlive(): void {
    const child = this.#process?.child;
    if (child === undefined) return;
    const method = this.#holds > 0 ? 'ref' : 'unref';
    child[method]();
    for (const stream of [child.stdin, child.stdout, child.stderr]) {
      // The pipes are sockets; an unreferenced child still holds the loop through them.
      (stream as Partial<Pick<Socket, 'ref' | 'unref'>> | null)?.[method]?.();
    }
  }

  #ensureProcess(): ShellProcess {
    if (this.#process !== undefined) return this.#process;
    const child = spawn('bash', ['--noprofile', '--norc', '+o', 'history', '-i'], {
      cwd: this.#options.workingDir,
      env: this.#options.env,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const readyNonce = newNonce();
    let markReady!: () => void;
    let failStart!: (error: unknown) => void;
    const ready = new Promise<void>((resolve, reject) => {
      markReady = resolve;
      failStart = reject;
    });
    let started = false;
    const parser = new ShellMarkerParser(
      (text) => {
        if (started) this.#onText(text);
      },
      (marker) => {
        if (marker.nonce === readyNonce) {
          started = true;
          markReady();
        } else {
          this.#onMarker(marker);
        }
      },
    );
    const decoder = new TextDecoder();
    child.stdout.on('data', (data: Buffer) => parser.push(decoder.decode(data, { stream: true })));
    // The shell's own stderr carries only its prompts and the echo of what it reads: commands
    // run with `2>&1`.
    child.stderr.resume();
    child.stdin.on('error', () => undefined);
    const exited = waitForExit(child);
    const shell: ShellProcess = { child, exited, ready };
    exited.then(
      (exit) => {
        failStart(new Error(`bash exited before it was ready (code ${shellExitCode(exit)}).`));
        this.#onExit(shell, exit);
      },
      (error: unknown) => {
        failStart(error);
        this.#onExit(shell, { code: 127, signal: null });
      },
    );
    this.#process = shell;
    this.#applyKeepAlive();
    this.#write(shell, `${SETUP}; ${markerCommand(readyNonce)}\n`);
    return shell;
  }

  #onText(text: string): void {
    const current = this.#current;
    if (current !== undefined && current.finished === undefined) {
      current.append(text);
    } else {
      this.#idleOutput = (this.#idleOutput + text).slice(-MAX_IDLE_OUTPUT);
    }
  }

  #onMarker(marker: ShellMarker): void {
    this.#workingDir = marker.workingDir;
    const current = this.#current;
    if (current === undefined || !current.nonces.has(marker.nonce)) return;
    current.finish(marker.exitCode, marker.workingDir);
    if (!this.#waiting) {
      // Nobody waits for this command (it outlived its timeout): keep its last output for the
      // next command's result.
      this.#idleOutput = current.takeOutput();
      this.#current = undefined;
    }
  }

  #onExit(shell: ShellProcess, exit: ProcessExit): void {
    if (this.#process !== shell) return;
    this.#process = undefined;
    const current = this.#current;
    const exitCode = shellExitCode(exit);
    const note = this.#closed
      ? ''
      : `\n[The shell exited with code ${exitCode}. The next command starts a new shell in ` +
        `${this.#options.workingDir}; the working directory, variables and functions are reset.]\n`;
    this.#workingDir = this.#options.workingDir;
    if (current !== undefined && current.finished === undefined) {
      if (note !== '') current.append(note);
      current.finish(exitCode, this.#workingDir);
    } else {
      this.#idleOutput += note;
    }
  }

  async #kill(): Promise<void> {
    const shell = this.#process;
    if (shell === undefined) return;
    signalProcessGroup(shell.child, 'SIGKILL');
    await shell.exited.catch(() => undefined);
  }

  #write(shell: ShellProcess, text: string): void {
    if (shell.child.stdin?.writable === true) shell.child.stdin.write(text);
  }
}

function newNonce(): string {
  return randomBytes(8).toString('hex');
}

/** Whether `promise` settles within `milliseconds`. */
async function settlesWithin(promise: Promise<void>, milliseconds: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), milliseconds);
  });
  try {
    return await Promise.race([promise.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
