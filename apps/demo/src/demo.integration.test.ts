import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const demo = fileURLToPath(new URL('../dist/index.js', import.meta.url));

function demoEnvironment(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' };
  delete env.LLM_MODEL;
  return env;
}

/** Runs the demo with stdout and stderr in one file, in the order a terminal would show them. */
async function runDemo(args: string[] = []): Promise<{ code: number | null; output: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'ferry-demo-test-'));
  const file = join(dir, 'output.txt');
  const fd = openSync(file, 'w');
  try {
    const child = spawn(process.execPath, [demo, ...args], {
      env: demoEnvironment(),
      stdio: ['ignore', fd, fd],
    });
    const [code] = (await once(child, 'exit')) as [number | null];
    return { code, output: readFileSync(file, 'utf8') };
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Resolves with the server's pid once the demo has printed it. */
async function serverPid(child: ChildProcess): Promise<number> {
  let out = '';
  return new Promise((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /ferry-server \(separate process, pid (\d+)\)/.exec(out);
      if (match?.[1]) resolve(Number(match[1]));
    });
    child.once('exit', () =>
      reject(new Error(`the demo ended before its server started:\n${out}`)),
    );
  });
}

/** The plain run, shared by the tests that read its output. */
let plainRun: Promise<{ code: number | null; output: string }> | undefined;
const runPlainDemo = () => (plainRun ??= runDemo());

describe('ferry demo', () => {
  it('runs the whole story in scripted mode: local, remote with another agent, back, finished', async () => {
    const { code, output } = await runPlainDemo();
    expect(output).not.toMatch(/demo failed/);
    expect(code).toBe(0);
    expect(output).toMatch(
      /ferry-server \(separate process, pid \d+\) at http:\/\/127\.0\.0\.1:\d+/,
    );
    // each side did its part, with the agent change and both hops visible
    expect(output).toMatch(/LOCAL +→ file_editor write the stats program/);
    expect(output).toMatch(/REMOTE +⚙ agent changed: now ferry-demo-remote/);
    expect(output).toMatch(/REMOTE +→ file_editor fix the mean/);
    expect(output).toMatch(/REMOTE +✓ all tests passed/);
    expect(output).toMatch(/LOCAL +✓ mean=2 max=3/);
    expect(output).toContain('planResume → compatible');
    // the closing summary states the final result
    expect(output).toMatch(/status +finished/);
    expect(output).toMatch(/stats\.js fixed +yes/);
    expect(output).toMatch(/steps +LOCAL \d+, REMOTE \d+/);
  });

  it('shows none of the glitches a first run used to show', async () => {
    const { code, output } = await runPlainDemo();
    expect(code).toBe(0);
    const lines = output.split('\n');
    // A command that failed is marked as failed.
    expect(output).toMatch(/REMOTE +✗ .*\(exit 1\)/);
    expect(output).not.toMatch(/✓ .*\(exit [1-9]\d*\)/);
    // Each hop prints its progress once, complete, before the destination reports the arrival.
    for (const [label, arrival] of [
      ['upload', /^REMOTE +⇄ arrived/],
      ['download', /^LOCAL +⇄ arrived/],
    ] as const) {
      const progress = lines.filter((line) => line.trimStart().startsWith(`${label} `));
      expect(progress).toHaveLength(1);
      expect(progress[0]).toMatch(/\] 100% \| (\d+)\/\1 bytes \| (\d+)\/\2 events$/);
      const arrived = lines.findIndex((line) => arrival.test(line));
      expect(lines.indexOf(progress[0] ?? '')).toBeLessThan(arrived);
      expect(lines.indexOf(progress[0] ?? '')).toBeGreaterThan(-1);
    }
    // The local folder reads as a folder and its host, not as one run-together URL.
    expect(output).toMatch(/⇄ arrived: \/\S+\/local-conversations on \S+ → http:\/\/127\.0\.0\.1/);
    expect(output).not.toContain('file://');
    // The API key is never shown, nor listed as a change of one mask into another.
    expect(output).not.toContain('"**********" → "**********"');
    expect(output).toContain('llm.api_key: sent again with the agent (secret, never shown)');
    // Without --keep the server is gone when the demo ends: no address to a dead viewer.
    expect(output).not.toMatch(/\/ui\//);
    expect(output).toMatch(/viewer +run `pnpm demo --keep`/);
  });

  it('explains real-model mode in --help, in whole sentences', async () => {
    const child = spawn(process.execPath, [demo, '--help']);
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
    for (const variable of [
      'LLM_MODEL',
      'LLM_API_KEY',
      'LLM_BASE_URL',
      'REMOTE_LLM_MODEL',
      '--keep',
    ]) {
      expect(out).toContain(variable);
    }
    // The description is wrapped only at the width: no line of it breaks off early.
    const description = out.split('\n\n')[1]?.split('\n') ?? [];
    expect(description.join(' ')).toContain(
      'teleports to a Ferry server where a different agent continues it',
    );
    for (const line of description.slice(0, -1)) expect(line.length).toBeGreaterThan(60);
  });

  it('with --keep, leaves the server running and says how to stop it', async () => {
    const { code, output } = await runDemo(['--keep']);
    expect(code).toBe(0);
    const stop = /Stop it with: kill (\d+) && rm -rf (\S+)/.exec(output);
    expect(stop, output).not.toBeNull();
    const pid = Number(stop?.[1]);
    try {
      expect(isRunning(pid)).toBe(true);
      expect(output).toMatch(/viewer +http:\/\/127\.0\.0\.1:\d+\/ui\/#/);
    } finally {
      process.kill(pid, 'SIGTERM');
      rmSync(stop?.[2] ?? '', { recursive: true, force: true });
    }
  });

  it('Ctrl-C stops the ferry-server child too', async () => {
    const child = spawn(process.execPath, [demo], {
      env: demoEnvironment(),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let err = '';
    child.stderr?.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const pid = await serverPid(child);
    expect(isRunning(pid)).toBe(true);
    const exited = once(child, 'exit') as Promise<[number | null, string | null]>;
    // Only the demo gets the signal (as from `kill -INT`): it must stop its server itself.
    child.kill('SIGINT');
    const [code] = await exited;
    expect(code).toBe(130);
    expect(err).toContain(`SIGINT: stopping ferry-server (pid ${pid})`);
    expect(isRunning(pid)).toBe(false);
  });
});
