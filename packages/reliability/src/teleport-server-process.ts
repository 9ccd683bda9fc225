import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** A `ferry-server` CLI running as its own process, to be killed like a real one. */
export interface ServerProcess {
  readonly url: string;
  readonly port: number;
  readonly child: ChildProcess;
  /** Everything it printed (stdout and stderr), for failure messages. */
  output(): string;
  /** SIGKILL, then waits for the exit. */
  kill(): Promise<void>;
  /** SIGTERM (a graceful shutdown), then waits for the exit. */
  stop(): Promise<void>;
}

/** Options of {@link startServerProcess}. */
export interface ServerProcessOptions {
  dataDir: string;
  workspaceRoot: string;
  apiKey: string;
  /** Encrypts persisted secrets, so agents keep their keys across a restart. */
  secretKey: string;
  /** 0 (the default) picks a free port; a restart passes the port the dead process had. */
  port?: number;
  /** Seconds before an unused conversation is closed (the CLI's `--idle-timeout`). */
  idleTimeout?: number;
  /** Extra node flags, e.g. `--expose-gc`. */
  nodeFlags?: string[];
  /** Extra `ferry-server` flags, e.g. `--sandbox`. */
  serverFlags?: string[];
}

const CLI = join(
  dirname(createRequire(import.meta.url).resolve('@ferry/server/package.json')),
  'dist',
  'cli.js',
);

/** Starts `ferry-server` on 127.0.0.1 and resolves once it listens. */
export async function startServerProcess(options: ServerProcessOptions): Promise<ServerProcess> {
  const child = spawn(
    process.execPath,
    [
      ...(options.nodeFlags ?? []),
      CLI,
      '--host',
      '127.0.0.1',
      '--port',
      String(options.port ?? 0),
      '--data-dir',
      options.dataDir,
      '--workspace-root',
      options.workspaceRoot,
      ...(options.idleTimeout === undefined ? [] : ['--idle-timeout', String(options.idleTimeout)]),
      ...(options.serverFlags ?? []),
    ],
    {
      // Keys through the environment, never on the command line.
      env: {
        ...process.env,
        FERRY_API_KEY: options.apiKey,
        FERRY_SECRET_KEY: options.secretKey,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const exited = once(child, 'exit');
  let output = '';
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match?.[1] !== undefined) resolve(match[1]);
    });
    child.once('exit', (code, signal) =>
      reject(new Error(`ferry-server exited early (${code ?? signal}): ${output}`)),
    );
  });
  const stopWith = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    await exited;
  };
  return {
    url,
    port: Number(new URL(url).port),
    child,
    output: () => output,
    kill: () => stopWith('SIGKILL'),
    stop: () => stopWith('SIGTERM'),
  };
}
