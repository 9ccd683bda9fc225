import { createTemporaryDirectory, startScriptedLLMServer } from '@ferry/sdk-core/testing';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterEach, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import type { ConversationInfo } from './schemas/conversation-schemas';
import { startServer, type FerryServer } from './server';
import { TEST_API_KEY, allEvents, scriptedAgent, testClient } from './test-support';

describe('startServer', () => {
  let server: FerryServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  it('listens on a free loopback port and answers the open health routes without a key', async () => {
    await using dir = await createTemporaryDirectory();
    server = await startServer({ host: '127.0.0.1', port: 0, dataDir: dir.path, apiKey: 'k' });
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);

    const alive = await fetch(`${server.url}/alive`);
    expect(alive.status).toBe(200);
    expect(await alive.json()).toEqual({ status: 'ok' });
    expect(await (await fetch(`${server.url}/health`)).json()).toEqual({ status: 'ok' });
    expect(await (await fetch(`${server.url}/ready`)).json()).toEqual({ status: 'ready' });
    const info = (await (await fetch(`${server.url}/server_info`)).json()) as { name: string };
    expect(info.name).toBe('ferry-server');
  });

  it('serves the OpenAPI document generated from the route schemas, and a docs page', async () => {
    await using dir = await createTemporaryDirectory();
    server = await startServer({ port: 0, dataDir: dir.path, apiKey: 'k' });
    const response = await fetch(`${server.url}/openapi.json`);
    expect(response.status).toBe(200);
    const document = (await response.json()) as {
      openapi: string;
      paths: Record<string, Record<string, unknown>>;
      components: { schemas: Record<string, unknown>; securitySchemes: Record<string, unknown> };
    };
    expect(document.openapi).toBe('3.1.0');
    for (const path of [
      '/api/conversations',
      '/api/conversations/search',
      '/api/conversations/{conversation_id}',
      '/api/conversations/{conversation_id}/events/search',
      '/api/conversations/{conversation_id}/agent',
      '/api/bash/execute_bash_command',
      '/api/file/upload',
      '/api/git/changes',
    ]) {
      expect(document.paths, path).toHaveProperty([path]);
    }
    expect(Object.keys(document.paths['/api/conversations'] ?? {})).toContain('post');
    expect(document.components.schemas).toHaveProperty('ConversationInfo');
    expect(document.components.schemas).toHaveProperty('StartConversationRequestInput');
    expect(document.components.securitySchemes).toHaveProperty('SessionApiKey');
    expect(JSON.stringify(document.paths)).not.toContain('/sockets/');

    const docs = await fetch(`${server.url}/docs`);
    expect(docs.status).toBe(200);
    expect(docs.headers.get('content-type')).toContain('text/html');
  });

  it('answers 401 to a WebSocket upgrade of a REST route without a key, and still closes', async () => {
    await using dir = await createTemporaryDirectory();
    const started = await startServer({ port: 0, dataDir: dir.path, apiKey: 'k' });
    server = started;
    const refused = new WebSocket(`ws://127.0.0.1:${started.port}/api/conversations`);
    const status = await new Promise<number | undefined>((resolve) => {
      refused.once('unexpected-response', (_request, response) => {
        response.resume();
        resolve(response.statusCode);
      });
      refused.once('open', () => resolve(101));
      refused.once('error', () => resolve(undefined));
    });
    refused.terminate();
    expect(status).toBe(401);
    // The refused upgrade's socket must not hold the server open.
    server = undefined;
    const closed = await Promise.race([
      started.close().then(() => 'closed'),
      new Promise((resolve) => setTimeout(() => resolve('still open after 5 s'), 5000)),
    ]);
    expect(closed).toBe('closed');
  });

  it('closes idle conversations and opens them again on use; listing never opens them', async () => {
    await using dir = await createTemporaryDirectory();
    await using llm = await startScriptedLLMServer({ script: [] });
    server = await startServer({ port: 0, dataDir: dir.path, idleTimeout: 0.05 });
    const client = testClient(server);
    const created = await client.request<ConversationInfo>('POST', '/api/conversations', {
      body: {
        agent: scriptedAgent(llm),
        initial_message: { content: [{ type: 'text', text: 'kept on disk' }] },
      },
    });
    const id = created.body.id;
    const lock = join(server.dataDir, 'conversations', id.replaceAll('-', ''), '.lock');
    const current = server;
    await vi.waitFor(() => expect(current.conversations.isOpen(id)).toBe(false));
    expect(existsSync(lock)).toBe(false);

    const listed = await client.request<{ items: ConversationInfo[] }>(
      'GET',
      '/api/conversations/search',
    );
    expect(listed.body.items.map((item) => item.id)).toEqual([id]);
    expect(
      (await client.request<ConversationInfo>('GET', `/api/conversations/${id}`)).body.id,
    ).toBe(id);
    expect(server.conversations.isOpen(id)).toBe(false);

    const events = await allEvents(client, id);
    expect(JSON.stringify(events)).toContain('kept on disk');
    expect(events.length).toBeGreaterThan(0);
  });

  it('never logs the API key, in headers or in a socket URL', async () => {
    await using dir = await createTemporaryDirectory();
    let logged = '';
    const stream = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logged += chunk.toString();
        done();
      },
    });
    server = await startServer({
      port: 0,
      dataDir: dir.path,
      apiKey: TEST_API_KEY,
      logger: { level: 'debug', stream },
    });
    await testClient(server).request('GET', '/api/conversations/search');
    await testClient(server, 'wrong-key-value').request('GET', '/api/conversations/count');
    const socket = new WebSocket(
      `${server.url.replace('http', 'ws')}/sockets/events/00000000-0000-4000-8000-000000000000?session_api_key=${TEST_API_KEY}`,
    );
    const code = await new Promise<number>((resolve) => {
      socket.on('close', (closeCode) => resolve(closeCode));
    });
    expect(code).toBe(4004);
    expect(logged).toContain('/sockets/events/');
    expect(logged).toContain('session_api_key=[redacted]');
    expect(logged).not.toContain(TEST_API_KEY);
    expect(logged).not.toContain('wrong-key-value');
  });
});
