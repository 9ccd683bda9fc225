/**
 * A script that used a `LocalWorkspace` must end by itself once its work is done, whether or not
 * it closed the workspace: the shell session's bash must not keep Node alive.
 */
import { createTemporaryDirectory } from '@ferry/sdk-core/testing';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const entry = new URL('../dist/index.js', import.meta.url).href;
/** Past this a script counts as hung and is killed, so the test fails instead of waiting. */
const HANG_LIMIT_MS = 60_000;

async function runScript(
  body: string,
): Promise<{ code: number | null; signal: string | null; stdout: string; stderr: string }> {
  await using dir = await createTemporaryDirectory();
  const script = join(dir.path, 'script.mjs');
  await writeFile(
    script,
    `import { LocalWorkspace } from ${JSON.stringify(entry)};\n` +
      `const workingDir = ${JSON.stringify(join(dir.path, 'project'))};\n${body}\n`,
  );
  const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (data: Buffer) => (stdout += data.toString()));
  child.stderr.on('data', (data: Buffer) => (stderr += data.toString()));
  const hang = setTimeout(() => child.kill('SIGKILL'), HANG_LIMIT_MS);
  const [code, signal] = await new Promise<[number | null, string | null]>((resolve) =>
    child.once('close', (exitCode: number | null, exitSignal: string | null) =>
      resolve([exitCode, exitSignal]),
    ),
  );
  clearTimeout(hang);
  return { code, signal, stdout, stderr };
}

describe('a script using LocalWorkspace', { timeout: HANG_LIMIT_MS + 30_000 }, () => {
  it('exits by itself after using a shell session it never closed', async () => {
    const result = await runScript(`
const workspace = new LocalWorkspace({ workingDir });
const shell = await workspace.openShell({ id: 'main' });
await shell.run('mkdir -p sub && cd sub');
const { output, exit_code } = await shell.run('echo "in $(basename "$PWD")"');
console.log(output.trim(), exit_code);
`);
    expect(result).toMatchObject({ code: 0, signal: null, stdout: 'in sub 0\n', stderr: '' });
  });

  it('exits after close(), and a command it runs still completes first', async () => {
    const result = await runScript(`
const workspace = new LocalWorkspace({ workingDir });
try {
  const shell = await workspace.openShell();
  const { output } = await shell.run('sleep 1; echo done');
  console.log(output.trim());
  const once = await workspace.executeCommand('echo one-shot');
  console.log(once.stdout.trim());
} finally {
  await workspace.close();
}
console.log('closed');
`);
    expect(result).toMatchObject({
      code: 0,
      signal: null,
      stdout: 'done\none-shot\nclosed\n',
      stderr: '',
    });
  });
});
