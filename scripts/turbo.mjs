#!/usr/bin/env node
// Runs the repository's turbo for the root scripts: with telemetry off for everyone (not only in
// CI, and without turbo's first-run notice), and, for the quiet builds that come before
// `pnpm test` and `pnpm demo`, with a line saying what is happening while nothing else prints.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import process from 'node:process';

const args = process.argv.slice(2);
const turbo = createRequire(import.meta.url).resolve('turbo/bin/turbo');
const quietBuild =
  args[0] === 'run' && args[1] === 'build' && args.includes('--output-logs=errors-only');

const started = Date.now();
if (quietBuild) {
  process.stdout.write(
    'Building the Ferry packages (turbo; about 90 seconds the first time, cached afterwards)...\n',
  );
}
const child = spawn(process.execPath, [turbo, ...args], {
  stdio: 'inherit',
  env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' },
});
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => {
  if (quietBuild && code === 0) {
    process.stdout.write(`Packages built in ${Math.round((Date.now() - started) / 1000)} s.\n\n`);
  }
  if (signal !== null) {
    process.removeAllListeners(signal);
    process.kill(process.pid, signal);
  } else process.exit(code ?? 1);
});
