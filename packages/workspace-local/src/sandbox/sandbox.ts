import { SandboxUnavailableError } from '@ferry/sdk-core';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { SIGNAL_GRACE_MS, signalProcessGroup, waitForExit } from '../process-group';
import type { Launch, Launcher } from '../launcher';
import { bwrapBaseArguments } from './bwrap-arguments';
import { checkBwrap, findBwrap } from './check-bwrap';
import { PidsCgroup } from './pids-cgroup';
import { resolveSandboxOptions } from './sandbox-options';
import type { ResolvedSandboxOptions, SandboxOptions } from './sandbox-options';

/**
 * The whole environment of a sandboxed command besides what the workspace is given: nothing
 * of the server's own environment gets in.
 */
export const SANDBOX_BASE_ENV: Readonly<Record<string, string>> = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  HOME: '/tmp',
  LANG: 'C.UTF-8',
};

/**
 * Runs inside the sandbox before the command: lowers the process limit (RLIMIT_NPROC, soft
 * and hard, so the command cannot raise it again) and execs the command.
 */
const LIMIT_SCRIPT =
  'if [ "$1" != unlimited ]; then h=$(ulimit -H -u); ' +
  'if [ "$h" = unlimited ] || [ "$h" -gt "$1" ]; then ulimit -u "$1" || exit 125; fi; fi; ' +
  'shift; exec "$@"';

/**
 * On the host: bwrap itself ignores SIGINT and SIGTERM (the command inside gets them back with
 * `env --default-signal`), so signals sent to the process group reach the command without
 * tearing down the sandbox; with a cgroup, the process joins it before bwrap starts.
 */
const HOST_SHIM = 'trap "" INT TERM; exec "$@"';
const HOST_SHIM_CGROUP = 'echo $$ > "$1" || exit 125; shift; trap "" INT TERM; exec "$@"';

/** What {@link Sandbox.create} needs from its workspace. */
export interface CreateSandboxOptions {
  options: true | SandboxOptions;
  /** Folders mounted read-write: the working folder and the allowed roots. */
  readWrite: readonly string[];
}

/** The output of a program run to the end in the sandbox. */
export interface SandboxRunResult {
  exitCode: number;
  stdout: Buffer;
  stderr: string;
}

/** Milliseconds a file or git operation may take in the sandbox. */
const RUN_TIMEOUT_MS = 300_000;

/**
 * One workspace's bubblewrap sandbox: how to launch a program in it, and a way to run one to
 * its end. Each launch is a sandbox of its own (own PID namespace, `/tmp` and `/dev/shm`)
 * over the same mounts.
 */
export class Sandbox {
  readonly options: ResolvedSandboxOptions;
  readonly #baseArguments: readonly string[];
  readonly #cgroup: PidsCgroup | undefined;

  private constructor(
    options: ResolvedSandboxOptions,
    baseArguments: string[],
    cgroup: PidsCgroup | undefined,
  ) {
    this.options = options;
    this.#baseArguments = baseArguments;
    this.#cgroup = cgroup;
  }

  /**
   * Checks that bwrap can make this sandbox (synchronously) and sets up the process limit.
   * Throws `SandboxUnavailableError`.
   */
  static create(create: CreateSandboxOptions): Sandbox {
    const resolved = resolveSandboxOptions(create.options);
    const options = { ...resolved, bwrapPath: findBwrap(resolved.bwrapPath) };
    for (const mount of [...options.readOnly, ...options.readWrite]) {
      if (!existsSync(mount)) {
        throw new SandboxUnavailableError('failed', `the mount "${mount}" does not exist.`);
      }
    }
    checkBwrap(options.bwrapPath, bwrapBaseArguments(options, { readOnly: [], readWrite: [] }));
    const baseArguments = bwrapBaseArguments(options, {
      readOnly: options.readOnly,
      readWrite: [...options.readWrite, ...create.readWrite],
    });
    const limited = Number.isFinite(options.maxProcesses);
    const cgroup =
      limited && process.getuid?.() === 0 ? PidsCgroup.create(options.maxProcesses) : undefined;
    return new Sandbox(options, baseArguments, cgroup);
  }

  /** Launches programs in this sandbox; `env` is their whole environment besides {@link SANDBOX_BASE_ENV}. */
  readonly launcher: Launcher = (argv, { cwd, env }): Launch => {
    const limit = Number.isFinite(this.options.maxProcesses)
      ? String(this.options.maxProcesses)
      : 'unlimited';
    const bwrap = [
      this.options.bwrapPath,
      ...this.#baseArguments,
      '--chdir',
      cwd,
      '--',
      '/usr/bin/env',
      '--default-signal=INT,TERM,QUIT',
      'bash',
      '-c',
      LIMIT_SCRIPT,
      'ferry-sandbox',
      limit,
      ...argv,
    ];
    const shim =
      this.#cgroup === undefined
        ? [HOST_SHIM, 'ferry-sandbox', ...bwrap]
        : [HOST_SHIM_CGROUP, 'ferry-sandbox', this.#cgroup.procsFile(), ...bwrap];
    const fullEnv = { ...SANDBOX_BASE_ENV, ...env };
    return { command: '/bin/sh', args: ['-c', ...shim], cwd: '/', env: fullEnv, depth: 2 };
  };

  /** Runs `argv` in the sandbox to its end, with `input` on its stdin. */
  async run(
    argv: readonly [string, ...string[]],
    options: { cwd: string; env?: Readonly<Record<string, string>>; input?: Uint8Array },
  ): Promise<SandboxRunResult> {
    const launch = this.launcher(argv, { cwd: options.cwd, env: { ...options.env } });
    const child = spawn(launch.command, launch.args, {
      cwd: launch.cwd,
      env: launch.env,
      detached: true,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const exited = waitForExit(child);
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    child.stdout.on('data', (data: Buffer) => stdout.push(data));
    child.stderr.on('data', (data: Buffer) => stderr.push(data));
    child.stdin.on('error', () => undefined);
    child.stdin.end(options.input);
    const timer = setTimeout(() => {
      signalProcessGroup(child, 'SIGTERM');
      setTimeout(() => signalProcessGroup(child, 'SIGKILL'), SIGNAL_GRACE_MS).unref();
    }, RUN_TIMEOUT_MS);
    try {
      const exit = await exited;
      return {
        exitCode: exit.code ?? -1,
        stdout: Buffer.concat(stdout),
        stderr: Buffer.concat(stderr).toString('utf8'),
      };
    } finally {
      clearTimeout(timer);
    }
  }

  /** Removes the process-limit cgroup, if any. */
  async close(): Promise<void> {
    await this.#cgroup?.remove();
  }
}

/**
 * Checks, synchronously, that sandboxed workspaces with `options` can run here (bwrap present,
 * namespaces allowed, a process limit possible): what a server does before it accepts its first
 * conversation. Throws `SandboxUnavailableError`.
 */
export function checkSandbox(options: true | SandboxOptions): void {
  void Sandbox.create({ options, readWrite: [] }).close();
}
