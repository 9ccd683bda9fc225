import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const demo = fileURLToPath(new URL('../dist/index.js', import.meta.url));

describe('ferry demo', () => {
  it('runs the whole story in scripted mode: local, remote with another agent, back, finished', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' };
    delete env.LLM_MODEL;
    const child = spawn(process.execPath, [demo], { env });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(err).not.toMatch(/demo failed|Error/);
    expect(code).toBe(0);
    // teleport progress bars (on stderr, like other progress output)
    expect(err).toMatch(/upload \[[^\]]+\] 100%/);
    expect(err).toMatch(/download \[[^\]]+\] 100%/);
    expect(out).toMatch(/ferry-server \(separate process\) at http:\/\/127\.0\.0\.1:\d+/);
    // each side did its part, with the agent change and both hops visible
    expect(out).toMatch(/LOCAL +→ file_editor write the stats program/);
    expect(out).toMatch(/REMOTE +⚙ agent changed: now ferry-demo-remote/);
    expect(out).toMatch(/REMOTE +→ file_editor fix the mean/);
    expect(out).toMatch(/REMOTE +✓ all tests passed/);
    expect(out).toMatch(/LOCAL +⇄ arrived: http:\/\/127\.0\.0\.1:\d+ →/);
    expect(out).toMatch(/LOCAL +✓ mean=2 max=3/);
    expect(out).toContain('planResume → compatible');
    // the closing summary states the final result
    expect(out).toMatch(/status +finished/);
    expect(out).toMatch(/stats\.js fixed +yes/);
    expect(out).toMatch(/steps +LOCAL \d+, REMOTE \d+/);
  });

  it('explains real-model mode in --help', async () => {
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
  });
});
