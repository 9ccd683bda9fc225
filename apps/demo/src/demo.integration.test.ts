import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const demo = fileURLToPath(new URL('../dist/index.js', import.meta.url));

describe('ferry demo', () => {
  it('starts a real server and tells the story it will run', async () => {
    const child = spawn(process.execPath, [demo]);
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
    expect(out).toMatch(/ferry-server is up at http:\/\/127\.0\.0\.1:\d+/);
    expect(out).toContain('teleports back');
  });
});
