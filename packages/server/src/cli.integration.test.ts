import {
  createTemporaryDirectory,
  startScriptedLLMServer,
  toolCall,
} from '@ferry/sdk-core/testing';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { ConversationInfo } from './schemas/conversation-schemas';
import type { FerryServer } from './server';
import { scriptedAgent, testClient } from './test-support';

const cli = fileURLToPath(new URL('../dist/cli.js', import.meta.url));

function listeningUrl(child: ChildProcess): Promise<string> {
  return new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /listening on (http:\/\/127\.0\.0\.1:(\d+))/.exec(out);
      if (match?.[1]) resolve(match[1]);
    });
    child.on('exit', (code) => reject(new Error(`exited early with ${code}: ${out}`)));
  });
}

describe('ferry-server CLI', () => {
  it('explains its flags in --help', async () => {
    const child = spawn(process.execPath, [cli, '--help']);
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
    for (const flag of [
      '--host',
      '--port',
      '--data-dir',
      '--workspace-root',
      '--api-key',
      '--secret-key',
      '--idle-timeout',
      '--skills-dir',
      'FERRY_SECRET_KEY',
      'FERRY_SKILLS_DIR',
    ]) {
      expect(out).toContain(flag);
    }
  });

  it('prints its URL with the real port on --port 0 and exits cleanly on SIGTERM', async () => {
    await using dir = await createTemporaryDirectory();
    const child = spawn(process.execPath, [cli, '--port', '0', '--data-dir', dir.path]);
    const url = await listeningUrl(child);
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

  it('interrupts a running conversation on SIGTERM, leaves it paused and unlocked, and exits 0', async () => {
    await using dir = await createTemporaryDirectory();
    await using llm = await startScriptedLLMServer({
      script: [toolCall('finish', { message: 'never sent' }, { delayMs: 60_000 })],
    });
    const child = spawn(process.execPath, [cli, '--port', '0', '--data-dir', dir.path], {
      env: { ...process.env, FERRY_SECRET_KEY: 'a-test-secret-key-of-enough-length' },
    });
    const url = await listeningUrl(child);
    const client = testClient({ url } as FerryServer, null);
    const created = await client.request<ConversationInfo>('POST', '/api/conversations', {
      body: {
        agent: scriptedAgent(llm),
        initial_message: { content: [{ type: 'text', text: 'take your time' }], run: true },
      },
    });
    await llm.waitForRequest(1);
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);

    const folder = join(dir.path, 'conversations', created.body.id.replaceAll('-', ''));
    const state = JSON.parse(await readFile(join(folder, 'base_state.json'), 'utf8')) as {
      execution_status: string;
      agent: { llm: { api_key: string } };
    };
    expect(state.execution_status).toBe('paused');
    expect(state.agent.llm.api_key).not.toContain('sk-test-scripted-secret');
    expect(await readdir(folder)).not.toContain('.lock');
  });
});
