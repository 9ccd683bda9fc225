import { LocalConversation } from '@ferry/sdk-core';
import { createTemporaryDirectory, startScriptedLLMServer, text } from '@ferry/sdk-core/testing';
import { LocalWorkspace } from '@ferry/workspace-local';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { ConversationInfo } from '../schemas/conversation-schemas';
import { snapshotTree, type EventPageBody } from '../test-support';

const bin = fileURLToPath(new URL('../../bin/ferry-console.js', import.meta.url));

describe('ferry-console CLI', () => {
  it('serves the console over a folder the SDK wrote, read-only, and changes nothing there', async () => {
    await using dir = await createTemporaryDirectory();
    await using llm = await startScriptedLLMServer({ script: [text('Hello from the agent.')] });
    const persistenceDir = join(dir.path, '.ferry');
    const workingDir = join(dir.path, 'project');
    await mkdir(workingDir, { recursive: true });
    const workspace = new LocalWorkspace({ workingDir });
    const conversation = await LocalConversation.open({
      agent: { llm: { model: 'scripted', base_url: llm.baseUrl, api_key: 'sk-never-shown' } },
      workspace,
      persistenceDir,
      title: 'Written by the SDK',
    });
    await conversation.sendMessage('Say hello.');
    expect(await conversation.run()).toBe('finished');
    await conversation.close();
    await workspace.close();
    const before = await snapshotTree(persistenceDir);

    const child = spawn(process.execPath, [bin, persistenceDir, '--port', '0', '--api-key', 'k']);
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (chunk: Buffer) => {
          out += chunk.toString();
          const match = /at (http:\/\/127\.0\.0\.1:\d+)\/ui\//.exec(out);
          if (match?.[1]) resolve(match[1]);
        });
        child.on('exit', (code) => reject(new Error(`exited early with ${code}: ${out}`)));
      });
      const get = async <T>(path: string) => {
        const response = await fetch(`${url}${path}`, { headers: { 'X-Session-API-Key': 'k' } });
        return { status: response.status, body: (await response.json()) as T };
      };
      expect((await fetch(`${url}/ui/`)).status).toBe(200);
      expect((await fetch(`${url}/api/conversations/search`)).status).toBe(401);
      expect((await get('/api/console')).body).toEqual({
        mode: 'local',
        read_only: true,
        place: `file://${hostname()}${persistenceDir}`,
      });
      const page = await get<{ items: ConversationInfo[] }>('/api/conversations/search');
      expect(page.body.items.map((item) => [item.id, item.title, item.execution_status])).toEqual([
        [conversation.id, 'Written by the SDK', 'finished'],
      ]);
      expect(JSON.stringify(page.body)).not.toContain('sk-never-shown');
      const events = await get<EventPageBody>(
        `/api/conversations/${conversation.id}/events/search?kind=MessageEvent`,
      );
      expect(events.body.items.map((event) => event.source)).toEqual(['user', 'agent']);
      const run = await fetch(`${url}/api/conversations/${conversation.id}/run`, {
        method: 'POST',
        headers: { 'X-Session-API-Key': 'k' },
      });
      expect(run.status).toBe(404);
      expect(await snapshotTree(persistenceDir)).toEqual(before);
    } finally {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  }, 60_000);

  it('refuses to serve beyond loopback without an API key', async () => {
    await using dir = await createTemporaryDirectory();
    const child = spawn(process.execPath, [bin, dir.path, '--host', '0.0.0.0', '--port', '0'], {
      env: { ...process.env, FERRY_CONSOLE_API_KEY: '' },
    });
    let err = '';
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(1);
    expect(err).toContain('without --api-key');
  });
});
