import { randomBytes } from 'node:crypto';
import { createConnection, createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { buffer } from 'node:stream/consumers';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LocalConversation,
  LocalFileStore,
  conversationFolderName,
  exportConversationBundle,
  type AgentInput,
} from '@ferry/sdk-core';
import {
  createTemporaryDirectory,
  startScriptedLLMServer,
  text,
  toolCall,
  type ScriptedLLMServer,
  type TemporaryDirectory,
} from '@ferry/sdk-core/testing';
import { startServer, type FerryServer } from '@ferry/server';
import { LocalWorkspace } from '@ferry/workspace-local';
import { RemoteWorkspace, teleport } from '@ferry/workspace-remote';
import { filesUnder } from './hostile-client';

const API_KEY = `session-${randomBytes(8).toString('hex')}`;
const suffix = () => randomBytes(12).toString('hex');

/** Values that must never be written, exported or served, each unique to this run. */
const SECRETS = {
  llmKey: `sk-ferry-llm-${suffix()}`,
  remoteLlmKey: `sk-ferry-remote-${suffix()}`,
  awsAccessKeyId: `AKIAFERRY${suffix().toUpperCase()}`,
  awsSecretAccessKey: `ferry-aws-secret-${suffix()}`,
  registry: `ferry-registry-${suffix()}`,
  toolPrefix: 'ferry-tool-secret-',
  toolSuffix: suffix(),
};
const TOOL_SECRET = `${SECRETS.toolPrefix}${SECRETS.toolSuffix}`;
const PLANTED = [
  SECRETS.llmKey,
  SECRETS.remoteLlmKey,
  SECRETS.awsAccessKeyId,
  SECRETS.awsSecretAccessKey,
  SECRETS.registry,
  TOOL_SECRET,
];

/**
 * Step by step, by tool results so far: print the tool secret (its command holds only its two
 * halves, so only the output carries it) and the registry secret, then stop.
 */
function secretTurn(request: { messages: readonly { role: string }[] }) {
  const step = request.messages.filter((message) => message.role === 'tool').length % 2;
  return request.messages.at(-1)?.role === 'user'
    ? toolCall('terminal', {
        command:
          step === 0
            ? `echo '${SECRETS.toolPrefix}''${SECRETS.toolSuffix}'`
            : `printf '%s\\n' "$FERRY_REGISTRY_HALF"'${SECRETS.registry.slice(10)}'`,
      })
    : text('Done.');
}

function agent(llm: ScriptedLLMServer, key: string): AgentInput {
  return {
    llm: {
      model: 'secrets-model',
      base_url: llm.baseUrl,
      api_key: key,
      aws_access_key_id: SECRETS.awsAccessKeyId,
      aws_secret_access_key: SECRETS.awsSecretAccessKey,
      usage_id: 'secrets',
      num_retries: 0,
    },
    tools: [{ name: 'terminal' }, { name: 'file_editor' }],
  };
}

/** Forwards TCP to `target` and keeps every byte the server sent back (HTTP and WebSocket). */
async function recordingProxy(
  target: URL,
): Promise<{ url: string; received: Buffer[]; close: () => Promise<void> }> {
  const received: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    const upstream = createConnection({ host: target.hostname, port: Number(target.port) });
    client.pipe(upstream);
    upstream.on('data', (chunk: Buffer) => received.push(chunk));
    upstream.pipe(client);
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no proxy address');
  const close = () =>
    new Promise<void>((resolve) => {
      // Keep-alive connections would hold close() open until they time out.
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });
  return { url: `http://127.0.0.1:${address.port}`, received, close };
}

/** Where any planted secret occurs (plain, or base64 as a JSON or header field could carry it). */
function hits(label: string, data: Buffer): string[] {
  const found: string[] = [];
  for (const secret of PLANTED) {
    if (data.includes(secret)) found.push(`${label}: ${secret}`);
    if (data.includes(Buffer.from(secret).toString('base64')))
      found.push(`${label}: base64 ${secret}`);
  }
  return found;
}

describe('secrets: never written, exported or served', () => {
  let llm: ScriptedLLMServer;
  let dir: TemporaryDirectory;
  let server: FerryServer;

  beforeAll(async () => {
    llm = await startScriptedLLMServer({ respond: (request) => secretTurn(request) });
    dir = await createTemporaryDirectory();
    server = await startServer({
      port: 0,
      dataDir: join(dir.path, 'server-data'),
      workspaceRoot: join(dir.path, 'server-workspaces'),
      apiKey: API_KEY,
    });
  });
  afterAll(async () => {
    await server?.close();
    await llm?.close();
    await dir?.[Symbol.asyncDispose]();
  });

  it('local, remote and teleported flows leave zero plaintext secrets anywhere', async () => {
    const proxy = await recordingProxy(new URL(server.url));
    const persistenceDir = join(dir.path, 'local-data');
    const workspaces: LocalWorkspace[] = [];
    const localWorkspace = () => {
      const workspace = new LocalWorkspace({
        workingDir: join(dir.path, 'local-work'),
        // The first half of the registry secret comes from the environment, so no command
        // argument holds the whole value.
        env: { FERRY_REGISTRY_HALF: SECRETS.registry.slice(0, 10) },
      });
      workspaces.push(workspace);
      return workspace;
    };
    const masked: string[] = [];
    try {
      // Local.
      const local = await LocalConversation.open({
        persistenceDir,
        workspace: localWorkspace(),
        agent: agent(llm, SECRETS.llmKey),
      });
      await local.setSecrets({ REGISTRY_TOKEN: SECRETS.registry, TOOL_TOKEN: TOOL_SECRET });
      await local.sendMessage('Print the tool secret.');
      expect(await local.run()).toBe('finished');
      await local.sendMessage('Print the registry secret.');
      expect(await local.run()).toBe('finished');
      const exported = await exportConversationBundle({
        store: new LocalFileStore({ root: join(persistenceDir, conversationFolderName(local.id)) }),
        workspaceDir: join(dir.path, 'local-work'),
      });
      const bundle = gunzipSync(await buffer(exported.stream));

      // Teleported to the server, run there with its own key and secrets.
      const remote = await teleport(local, {
        to: new RemoteWorkspace({
          host: proxy.url,
          apiKey: API_KEY,
          workingDir: join(dir.path, 'server-workspaces', 'secrets'),
        }),
        agent: agent(llm, SECRETS.remoteLlmKey),
        includeWorkspace: true,
      });
      await remote.setSecrets({ REGISTRY_TOKEN: SECRETS.registry, TOOL_TOKEN: TOOL_SECRET });
      await remote.sendMessage('Print the tool secret on the server.');
      expect(await remote.run()).toBe('finished');

      // What a client can read back over HTTP.
      const headers = { 'X-Session-API-Key': API_KEY };
      const served: Buffer[] = [];
      for (const path of [
        `/api/conversations/${remote.id}`,
        `/api/conversations/${remote.id}/events/search?limit=100`,
        `/api/conversations/search`,
      ]) {
        const response = await fetch(`${proxy.url}${path}`, { headers });
        expect(response.status, path).toBe(200);
        const body = Buffer.from(await response.arrayBuffer());
        served.push(body);
        masked.push(body.toString());
      }

      // And back here.
      const back = await teleport(remote, {
        to: { persistenceDir, workspace: localWorkspace() },
        agent: agent(llm, SECRETS.llmKey),
        includeWorkspace: true,
      });
      await back.setSecrets({ REGISTRY_TOKEN: SECRETS.registry, TOOL_TOKEN: TOOL_SECRET });
      await back.sendMessage('Print the tool secret again here.');
      expect(await back.run()).toBe('finished');
      const events = JSON.stringify([...back.events]);
      await back.close();

      // The flows did echo the secrets: the tool outputs hold the mask, so the scan means something.
      expect(events.split('<secret-hidden>').length - 1).toBeGreaterThanOrEqual(3);

      const found: string[] = [];
      let scannedBytes = 0;
      let scannedFiles = 0;
      const files = await filesUnder(dir.path);
      for (const file of files) {
        scannedBytes += file.data.length;
        scannedFiles += 1;
        found.push(...hits(file.path, file.data));
      }
      const traffic = Buffer.concat(proxy.received);
      found.push(...hits('bundle', bundle), ...hits('server responses', traffic));
      for (const body of served) found.push(...hits('served JSON', body));
      scannedBytes += bundle.length + traffic.length;
      console.info(
        `secrets: ${PLANTED.length} planted values, ${scannedFiles} files + bundle + ` +
          `${traffic.length} bytes of HTTP/WebSocket responses scanned (${scannedBytes} bytes), ${found.length} hits`,
      );
      expect(traffic.length).toBeGreaterThan(0);
      expect(found).toEqual([]);
    } finally {
      await Promise.all(workspaces.map((workspace) => workspace.close()));
      await proxy.close();
    }
  });
});
