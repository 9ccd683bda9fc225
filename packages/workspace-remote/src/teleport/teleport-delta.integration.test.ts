import { LocalConversation, conversationFolderName, type AnyEvent } from '@ferry/sdk-core';
import { createTemporaryDirectory, type TemporaryDirectory } from '@ferry/sdk-core/testing';
import { LocalWorkspace } from '@ferry/workspace-local';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import {
  createConnection,
  createServer,
  type AddressInfo,
  type Server,
  type Socket,
} from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { RemoteConversation } from '../conversation/remote-conversation';
import {
  startFerryServerProcess,
  type FerryServerProcess,
} from '../test-support/ferry-server-process';
import { RemoteWorkspace } from '../workspace/remote-workspace';
import { teleport } from './teleport';

const API_KEY = 'teleport-delta-key';
const agent = { llm: { model: 'openai/test-model', api_key: 'sk-test' } };

/** A TCP proxy in front of the server that counts the bytes each way. */
async function countingProxy(target: string): Promise<{
  url: string;
  sent: () => number;
  received: () => number;
  reset: () => void;
  close: () => Promise<void>;
}> {
  const { hostname, port } = new URL(target);
  let sent = 0;
  let received = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = createConnection({ host: hostname, port: Number(port) });
    sockets.add(client).add(upstream);
    client.on('data', (chunk: Buffer) => (sent += chunk.length));
    upstream.on('data', (chunk: Buffer) => (received += chunk.length));
    client.pipe(upstream).pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  server.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    sent: () => sent,
    received: () => received,
    reset: () => {
      sent = 0;
      received = 0;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        // Keep-alive connections of the client would hold the proxy open.
        for (const socket of sockets) socket.destroy();
      }),
  };
}

const ids = (events: Iterable<AnyEvent>) => [...events].map((event) => event.id);
const message = (index: number) => `Message ${index}: ${randomBytes(400).toString('base64')}`;

describe('teleport moves only what the destination lacks', () => {
  let dir: TemporaryDirectory;
  let server: FerryServerProcess;
  let proxy: Awaited<ReturnType<typeof countingProxy>>;
  let persistenceDir: string;
  let localWorkingDir: string;
  let remoteWorkingDir: string;

  beforeEach(async () => {
    dir = await createTemporaryDirectory({ prefix: 'ferry-teleport-delta-' });
    persistenceDir = join(dir.path, 'local', 'conversations');
    localWorkingDir = join(dir.path, 'local', 'project');
    const workspaceRoot = join(dir.path, 'server-root');
    remoteWorkingDir = join(workspaceRoot, 'project');
    await mkdir(localWorkingDir, { recursive: true });
    server = await startFerryServerProcess({
      dataDir: join(dir.path, 'server-data'),
      workspaceRoot,
      apiKey: API_KEY,
    });
    proxy = await countingProxy(server.url);
  });

  afterEach(async () => {
    await proxy.close();
    await server.kill();
    await dir.remove();
  });

  const workspace = () => new LocalWorkspace({ workingDir: localWorkingDir });
  const remoteWorkspace = () =>
    new RemoteWorkspace({ host: proxy.url, apiKey: API_KEY, workingDir: remoteWorkingDir });

  /** A local conversation with `count` messages of history. */
  async function localConversation(count: number): Promise<LocalConversation> {
    const building = await LocalConversation.open({
      agent,
      workspace: workspace(),
      persistenceDir,
      fsync: false,
    });
    for (let index = 0; index < count; index += 1) await building.sendMessage(message(index));
    await building.close();
    return LocalConversation.open({
      agent,
      workspace: workspace(),
      persistenceDir,
      conversationId: building.id,
    });
  }

  async function addRemote(remote: RemoteConversation, count: number): Promise<void> {
    for (let index = 0; index < count; index += 1) {
      await remote.sendMessage(`remote ${message(index)}`);
    }
  }

  it('round-trips local -> server -> local -> server sending only the new events, ids intact', async () => {
    const local = await localConversation(300);

    proxy.reset();
    const remote = await teleport(local, { to: remoteWorkspace() });
    const firstUpload = proxy.sent();
    await addRemote(remote, 50);
    const serverIds = ids(remote.events);

    proxy.reset();
    const back = await teleport(remote, { to: { persistenceDir, workspace: workspace() } });
    const backDownload = proxy.received();
    // The history stayed here, parked: only the 50 events (and the state) came back.
    expect(backDownload).toBeLessThan(firstUpload / 4);
    expect(ids(back.events).slice(0, serverIds.length)).toEqual(serverIds);
    expect(back.events.raw().at(-1)?.kind).toBe('TeleportEvent');

    for (let index = 0; index < 50; index += 1)
      await back.sendMessage(`local again ${message(index)}`);
    const localIds = ids(back.events);
    proxy.reset();
    const again = await teleport(back, { to: remoteWorkspace() });
    const secondUpload = proxy.sent();
    expect(secondUpload).toBeLessThan(firstUpload / 4);
    expect(ids(again.events).slice(0, localIds.length)).toEqual(localIds);
    expect(again.events.raw().filter((event) => event.kind === 'TeleportEvent')).toHaveLength(3);
    // The server's copy runs: one more message lands after the whole history.
    await again.sendMessage('still here');
    expect(again.events.raw().at(-1)?.id).not.toBe(localIds.at(-1));
    await again.close();
  });

  it('sends the whole conversation back to a local copy that was edited, never a mixed log', async () => {
    const local = await localConversation(100);
    const id = local.id;
    const remote = await teleport(local, { to: remoteWorkspace() });
    const fullUpload = proxy.sent();
    await addRemote(remote, 5);
    const serverIds = ids(remote.events);

    // Someone edits an old event in the parked local copy.
    const segment = join(
      persistenceDir,
      conversationFolderName(id),
      'events',
      'segment-000001.jsonl',
    );
    const original = await readFile(segment, 'utf8');
    await writeFile(segment, original.replace('Message 3:', 'Massage 3:'));

    proxy.reset();
    const back = await teleport(remote, { to: { persistenceDir, workspace: workspace() } });
    // The whole conversation came back (about what went out), and replaced the edited copy.
    expect(proxy.received()).toBeGreaterThan(fullUpload / 2);
    expect(ids(back.events).slice(0, serverIds.length)).toEqual(serverIds);
    const text = await readFile(segment, 'utf8');
    expect(text).toContain('Message 3:');
    expect(text).not.toContain('Massage 3:');
    await back.close();
  });

  it('carries only the workspace files that changed', async () => {
    await writeFile(join(localWorkingDir, 'data.bin'), randomBytes(400_000).toString('base64'));
    await writeFile(join(localWorkingDir, 'notes.txt'), 'first\n');
    const local = await localConversation(10);
    const remote = await teleport(local, { to: remoteWorkspace(), includeWorkspace: true });
    const fullUpload = proxy.sent();
    expect(fullUpload).toBeGreaterThan(400_000);

    // Changed on the server's side.
    await writeFile(join(remoteWorkingDir, 'notes.txt'), 'first\nsecond\n');
    proxy.reset();
    const back = await teleport(remote, {
      to: { persistenceDir, workspace: workspace() },
      includeWorkspace: true,
    });
    expect(proxy.received()).toBeLessThan(50_000);
    expect(await readFile(join(localWorkingDir, 'notes.txt'), 'utf8')).toBe('first\nsecond\n');

    // And changed here before going out again.
    await writeFile(join(localWorkingDir, 'notes.txt'), 'first\nsecond\nthird\n');
    proxy.reset();
    const again = await teleport(back, { to: remoteWorkspace(), includeWorkspace: true });
    expect(proxy.sent()).toBeLessThan(50_000);
    expect(await readFile(join(remoteWorkingDir, 'notes.txt'), 'utf8')).toBe(
      'first\nsecond\nthird\n',
    );
    await again.close();
  });
});
