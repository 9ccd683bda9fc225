import { createTemporaryDirectory } from '@ferry/sdk-core/testing';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { startServer } from '../server';
import { TEST_API_KEY, testClient } from '../test-support';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

type Frame = { kind?: string; command?: string; stdout?: string | null; code?: string };

async function setup() {
  const dir = await createTemporaryDirectory();
  cleanups.push(() => dir.remove());
  const server = await startServer({
    port: 0,
    dataDir: join(dir.path, 'data'),
    workspaceRoot: join(dir.path, 'workspaces'),
    apiKey: TEST_API_KEY,
  });
  cleanups.push(() => server.close());
  return { server, client: testClient(server) };
}

function connect(url: string, query: string) {
  const socket = new WebSocket(`${url.replace('http', 'ws')}/sockets/bash-events?${query}`);
  const frames: Frame[] = [];
  socket.on('message', (data: Buffer) => frames.push(JSON.parse(data.toString('utf8')) as Frame));
  const closed = new Promise<number>((resolve) => socket.on('close', (code) => resolve(code)));
  cleanups.push(async () => {
    socket.close();
    await closed;
  });
  return { socket, frames, closed };
}

describe('/sockets/bash-events', () => {
  it('replays earlier events with resend_mode=all, streams new ones, and runs requests it receives', async () => {
    const { server, client } = await setup();
    const before = await client.request<Frame>('POST', '/api/bash/execute_bash_command', {
      body: { command: 'echo earlier' },
    });
    expect(before.status).toBe(200);
    const { socket, frames } = connect(
      server.url,
      `session_api_key=${TEST_API_KEY}&resend_mode=all`,
    );
    await vi.waitFor(() =>
      expect(frames.some((frame) => frame.command === 'echo earlier')).toBe(true),
    );
    socket.send(JSON.stringify({ command: 'echo over-the-socket' }));
    await vi.waitFor(
      () =>
        expect(
          frames.some(
            (frame) => frame.kind === 'BashOutput' && frame.stdout?.includes('over-the-socket'),
          ),
        ).toBe(true),
      { timeout: 20_000 },
    );
    expect(
      frames.some(
        (frame) => frame.kind === 'BashCommand' && frame.command === 'echo over-the-socket',
      ),
    ).toBe(true);

    await client.request('POST', '/api/bash/start_bash_command', {
      body: { command: 'echo via-http' },
    });
    await vi.waitFor(
      () => expect(frames.some((frame) => frame.stdout?.includes('via-http'))).toBe(true),
      { timeout: 20_000 },
    );

    socket.send('not json');
    socket.send(JSON.stringify({ nothing: true }));
    await vi.waitFor(() =>
      expect(frames.filter((frame) => frame.code !== undefined).map((frame) => frame.code)).toEqual(
        ['INVALID_JSON', 'VALIDATION_ERROR'],
      ),
    );
    expect(socket.readyState).toBe(WebSocket.OPEN);
  });

  it('sends only new events without resend_mode, and closes 4001 without a valid key', async () => {
    const { server, client } = await setup();
    await client.request('POST', '/api/bash/execute_bash_command', {
      body: { command: 'echo old' },
    });
    const { frames, socket } = connect(server.url, `session_api_key=${TEST_API_KEY}`);
    await new Promise((resolve) => socket.once('open', resolve));
    await client.request('POST', '/api/bash/execute_bash_command', {
      body: { command: 'echo new' },
    });
    await vi.waitFor(() => expect(frames.some((frame) => frame.command === 'echo new')).toBe(true));
    expect(frames.some((frame) => frame.command === 'echo old')).toBe(false);

    for (const query of ['', 'session_api_key=wrong']) {
      const refused = connect(server.url, query);
      expect(await refused.closed).toBe(4001);
    }
  });
});
