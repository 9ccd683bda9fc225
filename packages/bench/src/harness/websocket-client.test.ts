import { startServer, type FerryServer } from '@ferry/server';
import { createTemporaryDirectory, type TemporaryDirectory } from '@ferry/sdk-core/testing';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { benchAgent } from '../fixtures/write-fixtures';
import { openWebSocket } from './websocket-client';

const API_KEY = 'websocket-client-test-key';

async function api(server: FerryServer, path: string, method: string, json?: unknown) {
  const response = await fetch(`${server.url}${path}`, {
    method,
    headers: {
      'x-session-api-key': API_KEY,
      ...(json === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(json === undefined ? {} : { body: JSON.stringify(json) }),
  });
  expect(response.ok, await response.clone().text()).toBe(true);
  return response.json();
}

// The benchmark's subscriber is this bare client: it must read every frame a real server sends
// (short, 16-bit and 64-bit lengths, several frames per TCP chunk) and report how it was closed.
describe('openWebSocket against a real @ferry/server', () => {
  let dir: TemporaryDirectory;
  let server: FerryServer;

  beforeEach(async () => {
    dir = await createTemporaryDirectory({ prefix: 'ferry-bench-ws-' });
    server = await startServer({ port: 0, dataDir: dir.path, apiKey: API_KEY });
  });

  afterEach(async () => {
    await server.close();
    await dir.remove();
  });

  it('receives every event in order, whatever its size, and sees the close code', async () => {
    const id = randomUUID();
    await api(server, '/api/conversations', 'POST', { conversation_id: id, agent: benchAgent() });
    const frames: { id: string; text?: string }[] = [];
    const socket = await openWebSocket(
      `${server.url.replace('http:', 'ws:')}/sockets/events/${id}?resend_mode=all&session_api_key=${API_KEY}`,
      (frame) => {
        const event = JSON.parse(frame) as {
          id: string;
          key?: string;
          llm_message?: { content?: { text?: string }[] };
        };
        // The state snapshot the server sends first is not an event of the log.
        if (event.key === 'full_state') return;
        frames.push({ id: event.id, text: event.llm_message?.content?.[0]?.text });
      },
    );
    // Under 126 bytes of text, a 16-bit length, a 64-bit length.
    const texts = ['short', 'x'.repeat(2_000), 'y'.repeat(200_000)];
    for (const text of texts) {
      await api(server, `/api/conversations/${id}/events`, 'POST', {
        role: 'user',
        content: [{ type: 'text', text }],
      });
    }
    const log = (await api(server, `/api/conversations/${id}/events/search?limit=100`, 'GET')) as {
      items: { id: string }[];
    };
    await api(server, `/api/conversations/${id}`, 'DELETE');
    const closed = await socket.closed;

    expect(closed.code).toBe(4004);
    expect(frames.map((frame) => frame.id)).toEqual(log.items.map((event) => event.id));
    expect(frames.map((frame) => frame.text).filter((text) => text !== undefined)).toEqual(texts);
  });

  it('refuses a server that answers without upgrading', async () => {
    const plain = createServer((_request, response) => {
      response.writeHead(404);
      response.end();
    });
    plain.listen(0, '127.0.0.1');
    await once(plain, 'listening');
    try {
      const { port } = plain.address() as AddressInfo;
      await expect(
        openWebSocket(`ws://127.0.0.1:${port}/sockets/events/x`, () => undefined),
      ).rejects.toThrow(/HTTP 404, not 101/);
    } finally {
      plain.close();
    }
  });
});
