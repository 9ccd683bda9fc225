import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** A `ferry-server` CLI started in a child process, for tests that need a separate process. */
export interface FerryServerProcess extends AsyncDisposable {
  readonly url: string;
  readonly child: ChildProcess;
  /** Kills the process at once (SIGKILL) and waits for it to exit. */
  kill(): Promise<void>;
  /** Stops it the polite way (SIGTERM) and waits for it to exit. */
  stop(): Promise<void>;
}

const cli = join(
  dirname(createRequire(import.meta.url).resolve('@ferry/server/package.json')),
  'dist',
  'cli.js',
);

/** Starts `ferry-server --port 0` and resolves with the URL it prints once it listens. */
export async function startFerryServerProcess(options: {
  dataDir: string;
  workspaceRoot: string;
  apiKey: string;
}): Promise<FerryServerProcess> {
  const child = spawn(
    process.execPath,
    [
      cli,
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--data-dir',
      options.dataDir,
      '--workspace-root',
      options.workspaceRoot,
    ],
    { env: { ...process.env, FERRY_API_KEY: options.apiKey }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = once(child, 'exit');
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match?.[1] !== undefined) resolve(match[1]);
    });
    child.once('exit', (code) =>
      reject(new Error(`ferry-server exited early (${code}): ${output}`)),
    );
  });
  const waitForExit = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    await exited;
  };
  return {
    url,
    child,
    kill: () => waitForExit('SIGKILL'),
    stop: () => waitForExit('SIGTERM'),
    [Symbol.asyncDispose]: () => waitForExit('SIGKILL'),
  };
}
