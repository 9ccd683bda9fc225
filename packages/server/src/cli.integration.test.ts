import { createTemporaryDirectory } from '@ferry/sdk-core/testing';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

describe('ferry-server CLI', () => {
  it('explains its flags in --help', async () => {
    const child = spawn(process.execPath, [cli, '--help']);
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
    for (const flag of ['--host', '--port', '--data-dir', '--workspace-root', '--api-key']) {
      expect(out).toContain(flag);
    }
  });

  it('prints its URL with the real port on --port 0 and exits cleanly on SIGTERM', async () => {
    await using dir = await createTemporaryDirectory();
    const child = spawn(process.execPath, [cli, '--port', '0', '--data-dir', dir.path]);
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString();
        const match = /listening on (http:\/\/127\.0\.0\.1:(\d+))/.exec(out);
        if (match?.[1]) resolve(match[1]);
      });
      child.on('exit', (code) => reject(new Error(`exited early with ${code}: ${out}`)));
    });
    expect(Number(new URL(url).port)).toBeGreaterThan(0);
    expect((await fetch(`${url}/alive`)).status).toBe(200);
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
  });

  it('rejects a bad port with a clear message', async () => {
    const child = spawn(process.execPath, [cli, '--port', 'eighty']);
    let err = '';
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).not.toBe(0);
    expect(err).toContain('expected an integer from 0 to 65535');
  });
});
