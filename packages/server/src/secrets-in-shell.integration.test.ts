import {
  createTemporaryDirectory,
  startScriptedLLMServer,
  text,
  toolCall,
} from '@ferry/sdk-core/testing';
import { createHash } from 'node:crypto';
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import type { ConversationInfo } from './schemas/conversation-schemas';
import {
  allEvents,
  scriptedAgent,
  startTestServer,
  storedData,
  TEST_API_KEY,
  testClient,
  waitForStatus,
} from './test-support';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Every file under `dir`, as bytes. */
async function filesUnder(dir: string): Promise<Buffer[]> {
  const files: Buffer[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) files.push(await readFile(join(entry.parentPath, entry.name)));
  }
  return files;
}

describe('secrets of a conversation', () => {
  it("reach the agent's shell by name, and never the disk, the logs, the events or the socket", async () => {
    // Quotes and a `$` in the value: it must reach the shell exactly, unexpanded.
    const secret = `tok-it's-$HOME-"7f3a9c"`;
    const hash = createHash('sha256').update(`${secret}\n`).digest('hex');
    const dir = await createTemporaryDirectory();
    cleanups.push(() => dir.remove());
    const llm = await startScriptedLLMServer({
      script: [
        toolCall('terminal', { command: 'echo "$MY_TOKEN" | sha256sum' }),
        toolCall('terminal', { command: 'echo "token: $MY_TOKEN"' }),
        text('Done.'),
      ],
    });
    cleanups.push(() => llm.close());
    const logs: string[] = [];
    const server = await startTestServer(cleanups, {
      dataDir: join(dir.path, 'data'),
      workspaceRoot: join(dir.path, 'workspaces'),
      logger: {
        level: 'trace',
        stream: new Writable({
          write(chunk: Buffer, _encoding, done) {
            logs.push(chunk.toString('utf8'));
            done();
          },
        }),
      },
    });
    const client = testClient(server);

    const created = await client.request<ConversationInfo>('POST', '/api/conversations', {
      body: { agent: scriptedAgent(llm, { tools: ['terminal'] }) },
    });
    const id = created.body.id;
    const stored = await client.request('POST', `/api/conversations/${id}/secrets`, {
      body: { secrets: { MY_TOKEN: { kind: 'StaticSecret', value: secret } } },
    });
    expect(stored.status).toBe(200);
    const frames: string[] = [];
    const socket = new WebSocket(
      `${server.url.replace('http', 'ws')}/sockets/events/${id}?ferry_events=full`,
      { headers: { 'X-Session-API-Key': TEST_API_KEY } },
    );
    socket.on('message', (data: Buffer) => frames.push(data.toString('utf8')));
    cleanups.push(() => Promise.resolve(socket.terminate()));
    await vi.waitFor(() => expect(server.conversations.subscriberCount(id)).toBe(1));

    await client.request('POST', `/api/conversations/${id}/events`, {
      body: { role: 'user', content: [{ type: 'text', text: 'Use the token.' }], run: true },
    });
    await waitForStatus(client, id, ['finished']);

    const events = await allEvents(client, id, { full: true });
    const outputs = events
      .filter((event) => event.kind === 'ObservationEvent')
      .map((event) => JSON.stringify(event.observation));
    expect(outputs).toHaveLength(2);
    // The command saw the value: its hash is the value's.
    expect(outputs[0]).toContain(hash);
    // Printed, it is masked.
    expect(outputs[1]).toContain('token: <secret-hidden>');

    await vi.waitFor(() => expect(frames.join('\n')).toContain(hash));
    const everywhere = [
      ...(await filesUnder(server.dataDir)).map((bytes) => bytes.toString('latin1')),
      await storedData(server),
      logs.join(''),
      frames.join('\n'),
      JSON.stringify(events),
      JSON.stringify(llm.requests),
    ];
    expect(logs.length).toBeGreaterThan(0);
    for (const place of everywhere) expect(place).not.toContain(secret);
  });
});
