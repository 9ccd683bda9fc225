import {
  BundleConflictError,
  ConversationTeleportedError,
  LocalConversation,
  type AgentInput,
  type AnyEvent,
} from '@ferry/sdk-core';
import {
  createTemporaryDirectory,
  startScriptedLLMServer,
  text,
  toolCall,
  type ScriptTurn,
  type ScriptedLLMServer,
  type TemporaryDirectory,
} from '@ferry/sdk-core/testing';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RemoteConversation } from '../conversation/remote-conversation';
import {
  startFerryServerProcess,
  type FerryServerProcess,
} from '../test-support/ferry-server-process';
import { LocalWorkspace } from '@ferry/workspace-local';
import { RemoteWorkspace } from '../workspace/remote-workspace';
import { teleport, type TeleportProgress } from './teleport';

const API_KEY = 'teleport-key';

function agent(llm: ScriptedLLMServer, model: string): AgentInput {
  return {
    llm: {
      model: `openai/${model}`,
      base_url: llm.baseUrl,
      api_key: `sk-${model}`,
      num_retries: 0,
    },
    tools: [{ name: 'terminal' }, { name: 'file_editor' }],
  };
}

/** Paths of the files under `dir` whose bytes contain `needle`. */
async function filesContaining(dir: string, needle: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    if ((await readFile(path)).includes(needle)) found.push(path);
  }
  return found;
}

/**
 * Starts `ferry-server` again on the port the dead one had (the address the parked copy
 * names), as a user restarting their server would.
 */
async function restartOnSamePort(
  dead: FerryServerProcess,
  folders: { dataDir: string; workspaceRoot: string },
): Promise<FerryServerProcess> {
  const cli = join(
    dirname(createRequire(import.meta.url).resolve('@ferry/server/package.json')),
    'dist',
    'cli.js',
  );
  const { port } = new URL(dead.url);
  const child = spawn(
    process.execPath,
    [
      cli,
      '--host',
      '127.0.0.1',
      '--port',
      port,
      '--data-dir',
      folders.dataDir,
      '--workspace-root',
      folders.workspaceRoot,
    ],
    { env: { ...process.env, FERRY_API_KEY: API_KEY }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = once(child, 'exit');
  let output = '';
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('listening on')) resolve();
    });
    child.once('exit', (code) =>
      reject(new Error(`ferry-server exited early (${code}): ${output}`)),
    );
  });
  const stop = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    await exited;
  };
  return {
    url: dead.url,
    child,
    kill: () => stop('SIGKILL'),
    stop: () => stop('SIGTERM'),
    [Symbol.asyncDispose]: () => stop('SIGKILL'),
  };
}

const ids = (events: Iterable<AnyEvent>) => [...events].map((event) => event.id);
const teleportEvents = (events: Iterable<AnyEvent>) =>
  [...events].filter((event) => event.kind === 'TeleportEvent');

describe('teleport between this machine and a ferry-server process', () => {
  let dir: TemporaryDirectory;
  let server: FerryServerProcess;
  let persistenceDir: string;
  let localWorkingDir: string;
  let remoteWorkingDir: string;
  const dataDir = () => join(dir.path, 'server-data');
  const workspaceRoot = () => join(dir.path, 'server-root');

  const startRemote = () =>
    startFerryServerProcess({
      dataDir: dataDir(),
      workspaceRoot: workspaceRoot(),
      apiKey: API_KEY,
    });
  const remoteWorkspace = () =>
    new RemoteWorkspace({ host: server.url, apiKey: API_KEY, workingDir: remoteWorkingDir });

  beforeEach(async () => {
    dir = await createTemporaryDirectory({ prefix: 'ferry-teleport-' });
    persistenceDir = join(dir.path, 'local', 'conversations');
    localWorkingDir = join(dir.path, 'local', 'project');
    remoteWorkingDir = join(workspaceRoot(), 'project');
    await mkdir(localWorkingDir, { recursive: true });
    server = await startRemote();
  });

  afterEach(async () => {
    await server.kill();
    await dir.remove();
  });

  it('goes local (model A) -> server (agent B) -> local (agent C) with one log, in order', async () => {
    const turns: ScriptTurn[] = [
      toolCall('file_editor', {
        command: 'create',
        path: join(localWorkingDir, 'notes.txt'),
        file_text: 'written locally\n',
      }),
      text('Local part done.'),
      toolCall('terminal', { command: "printf 'edited remotely\\n' >> notes.txt" }),
      text('Remote part done.'),
      text('All done, back home.'),
    ];
    await using llm = await startScriptedLLMServer({ script: turns });
    const workspace = new LocalWorkspace({ workingDir: localWorkingDir });

    // Local, model A: two steps.
    const local = await LocalConversation.open({
      agent: agent(llm, 'model-a'),
      workspace,
      persistenceDir,
    });
    await local.sendMessage('Start here.');
    expect(await local.run()).toBe('finished');
    const localIds = ids(local.events);

    // To the server with agent B.
    const progress: TeleportProgress[] = [];
    const remote = await teleport(local, {
      to: remoteWorkspace(),
      agent: agent(llm, 'model-b'),
      includeWorkspace: true,
      onProgress: (step) => progress.push(step),
    });
    expect(remote.id).toBe(local.id);
    expect(local.closed).toBe(true);
    expect(progress.at(-1)).toMatchObject({ stage: 'upload', events: localIds.length });
    expect(progress.at(-1)?.totalEvents).toBe(localIds.length);
    expect(ids(remote.events).slice(0, localIds.length)).toEqual(localIds);
    const arrivals = teleportEvents(remote.events);
    expect(arrivals).toHaveLength(1);
    expect(arrivals[0]).toMatchObject({ to: server.url });
    expect((arrivals[0] as { from: string }).from.startsWith('file://')).toBe(true);

    // The copy left here is parked.
    const parked = await LocalConversation.open({
      workspace,
      persistenceDir,
      conversationId: local.id,
    });
    expect(parked.state.teleport).toMatchObject({ to: server.url });
    expect(() => parked.run()).toThrow(ConversationTeleportedError);
    await parked.close();

    // On the server, agent B: two steps, editing the file that came along.
    await remote.sendMessage('Continue there.');
    expect(await remote.run()).toBe('finished');
    const remoteIds = ids(remote.events);
    const remoteNotes = await remote.workspace.readFile('notes.txt');
    expect(new TextDecoder().decode(remoteNotes)).toBe('written locally\nedited remotely\n');

    // Back here with agent C.
    const backProgress: TeleportProgress[] = [];
    const back = await teleport(remote, {
      to: { persistenceDir, workspace },
      agent: agent(llm, 'model-c'),
      includeWorkspace: true,
      onProgress: (step) => backProgress.push(step),
    });
    expect(back.id).toBe(local.id);
    expect(backProgress.some((step) => step.stage === 'download' && step.bytes > 0)).toBe(true);
    expect(backProgress.at(-2)).toMatchObject({
      stage: 'import',
      events: remoteIds.length,
      totalEvents: remoteIds.length,
    });
    // Told once, last: it is here and being opened.
    expect(backProgress.filter((step) => step.stage === 'open')).toHaveLength(1);
    expect(backProgress.at(-1)).toMatchObject({
      stage: 'open',
      events: remoteIds.length,
      totalEvents: remoteIds.length,
    });
    // Opened without reading the log: it never condensed, so its first request reads it.
    expect(back.openReport.liveContext).toEqual({
      source: 'snapshot',
      loadedFrom: remoteIds.length,
    });
    expect(() => remote.run()).toThrow(ConversationTeleportedError);
    const onServer = await RemoteConversation.attach({
      host: server.url,
      apiKey: API_KEY,
      conversationId: local.id,
    });
    expect(onServer.state.teleport).toBeTruthy();
    expect(() => onServer.run()).toThrow(ConversationTeleportedError);
    await onServer.close();
    const refusedRun = await fetch(`${server.url}/api/conversations/${local.id}/run`, {
      method: 'POST',
      headers: { 'X-Session-API-Key': API_KEY },
    });
    expect(refusedRun.status).toBe(409);
    expect(await refusedRun.json()).toMatchObject({ code: 'CONVERSATION_TELEPORTED' });

    await back.sendMessage('Finish here.');
    expect(await back.run()).toBe('finished');

    const final = [...back.events];
    expect(new Set(ids(final)).size).toBe(final.length);
    expect(ids(final).slice(0, remoteIds.length)).toEqual(remoteIds);
    const hops = teleportEvents(final);
    expect(hops).toHaveLength(2);
    expect(hops[0]).toMatchObject({ to: server.url });
    expect(hops[1]).toMatchObject({ from: server.url });
    expect((hops[1] as { to: string }).to.startsWith('file://')).toBe(true);
    expect(final.indexOf(hops[0] as AnyEvent)).toBeGreaterThanOrEqual(localIds.length);
    expect(final.indexOf(hops[1] as AnyEvent)).toBeGreaterThanOrEqual(remoteIds.length);
    expect(llm.requests.map((request) => request.model)).toEqual([
      'model-a',
      'model-a',
      'model-b',
      'model-b',
      'model-c',
    ]);
    expect(await readFile(join(localWorkingDir, 'notes.txt'), 'utf8')).toBe(
      'written locally\nedited remotely\n',
    );
    await back.close();
    // The agents' keys travelled only in requests: no file on either side holds one.
    for (const key of ['sk-model-a', 'sk-model-b', 'sk-model-c']) {
      expect(await filesContaining(dir.path, key)).toEqual([]);
    }
  });

  it('leaves the local conversation runnable and the server without a runnable copy when the server dies mid-import', async () => {
    await using llm = await startScriptedLLMServer({
      script: [text('still here'), text('and there')],
    });
    // Incompressible, so the upload is still going when the server is killed.
    await writeFile(join(localWorkingDir, 'large.bin'), randomBytes(32 * 1024 * 1024));
    const workspace = new LocalWorkspace({ workingDir: localWorkingDir });
    const local = await LocalConversation.open({
      agent: agent(llm, 'model-a'),
      workspace,
      persistenceDir,
    });
    await local.sendMessage('Hello.');

    let killed = false;
    const attempt = teleport(local, {
      to: remoteWorkspace(),
      includeWorkspace: true,
      onProgress: (step) => {
        if (!killed && step.bytes > 1024 * 1024) {
          killed = true;
          server.child.kill('SIGKILL');
        }
      },
    });
    const failure = await attempt.catch((error: unknown) => error);
    expect(killed).toBe(true);
    // The server never confirmed it: the copy here was never parked, and runs.
    expect(failure).toBeInstanceOf(Error);
    expect(local.closed).toBe(false);
    expect(local.state.teleport ?? null).toBeNull();
    expect(await local.run()).toBe('finished');

    // The server is back: it holds no runnable copy (at most a pending one, parked for here).
    await server.kill();
    server = await restartOnSamePort(server, {
      dataDir: dataDir(),
      workspaceRoot: workspaceRoot(),
    });
    const there = await fetch(`${server.url}/api/conversations/${local.id}`, {
      headers: { 'X-Session-API-Key': API_KEY },
    });
    if (there.status === 200) {
      const state = (await there.json()) as { teleport?: { to: string } | null };
      expect(state.teleport?.to).toContain(persistenceDir);
    } else {
      expect(there.status).toBe(404);
    }

    // Teleporting again moves it, with every event and one arrival.
    const before = ids(local.events);
    const remote = await teleport(local, { to: remoteWorkspace(), includeWorkspace: true });
    expect(local.closed).toBe(true);
    expect(ids(remote.events).slice(0, before.length)).toEqual(before);
    expect(teleportEvents(remote.events)).toHaveLength(1);
    expect(await remote.run()).toBe('finished');
    const count = await fetch(`${server.url}/api/conversations/count`, {
      headers: { 'X-Session-API-Key': API_KEY },
    });
    expect(await count.json()).toBe(1);
    await remote.close();
  });

  it('does not park the server copy when events were appended there after the export', async () => {
    await using llm = await startScriptedLLMServer({
      script: [text('remote reply'), text('reply after the retry'), text('home again')],
    });
    const workspace = new LocalWorkspace({ workingDir: localWorkingDir });
    const local = await LocalConversation.open({
      agent: agent(llm, 'model-a'),
      workspace,
      persistenceDir,
    });
    const remote = await teleport(local, { to: remoteWorkspace() });
    await remote.sendMessage('On the server.');
    expect(await remote.run()).toBe('finished');

    // Another client sends a message between the export and the parking of the server copy.
    const realFetch = globalThis.fetch;
    let late = false;
    globalThis.fetch = async (input, init) => {
      const url = String(input instanceof Request ? input.url : input);
      if (!late && url.endsWith('/mark_teleported')) {
        late = true;
        const sent = await realFetch(`${server.url}/api/conversations/${remote.id}/events`, {
          method: 'POST',
          headers: { 'X-Session-API-Key': API_KEY, 'content-type': 'application/json' },
          body: JSON.stringify({ content: [{ type: 'text', text: 'sent meanwhile' }] }),
        });
        expect(sent.status).toBe(200);
      }
      return realFetch(input, init);
    };
    let failure: unknown;
    try {
      failure = await teleport(remote, { to: { persistenceDir, workspace } }).catch(
        (error: unknown) => error,
      );
    } finally {
      globalThis.fetch = realFetch;
    }
    expect(late).toBe(true);
    expect(failure).toMatchObject({ code: 'TELEPORT_SOURCE_CHANGED' });
    // Nothing moved: the server copy runs on with the late message, the one here stays parked.
    expect(remote.closed).toBe(false);
    expect((await remote.refresh()).teleport ?? undefined).toBeUndefined();
    const stillParked = await LocalConversation.open({
      workspace,
      persistenceDir,
      conversationId: remote.id,
    });
    expect(stillParked.state.teleport).toMatchObject({ to: server.url });
    await stillParked.close();
    expect(await remote.run()).toBe('finished');

    const back = await teleport(remote, { to: { persistenceDir, workspace } });
    const texts = [...back.events]
      .filter((event) => event.kind === 'MessageEvent' && event.source === 'user')
      .map((event) => JSON.stringify(event));
    expect(texts.filter((event) => event.includes('sent meanwhile'))).toHaveLength(1);
    await back.sendMessage('Home.');
    expect(await back.run()).toBe('finished');
    await back.close();
  });

  it('does not overwrite local files changed since departure unless asked, and lists them', async () => {
    await using llm = await startScriptedLLMServer({
      script: [toolCall('terminal', { command: "printf 'remote\\n' > shared.txt" }), text('ok')],
    });
    await writeFile(join(localWorkingDir, 'shared.txt'), 'original\n');
    const workspace = new LocalWorkspace({ workingDir: localWorkingDir });
    const local = await LocalConversation.open({
      agent: agent(llm, 'model-a'),
      workspace,
      persistenceDir,
    });
    const remote = await teleport(local, { to: remoteWorkspace(), includeWorkspace: true });
    await remote.sendMessage('Change the file.');
    expect(await remote.run()).toBe('finished');

    await writeFile(join(localWorkingDir, 'shared.txt'), 'changed here meanwhile\n');
    const refused = await teleport(remote, {
      to: { persistenceDir, workspace },
      includeWorkspace: true,
    }).catch((error: unknown) => error);
    expect(BundleConflictError.isInstance(refused)).toBe(true);
    expect((refused as BundleConflictError).files).toEqual(['shared.txt']);
    expect(await readFile(join(localWorkingDir, 'shared.txt'), 'utf8')).toBe(
      'changed here meanwhile\n',
    );
    // Nothing moved: the server's copy still runs, the one here is still parked.
    expect(remote.closed).toBe(false);
    expect((await remote.refresh()).teleport ?? undefined).toBeUndefined();
    const stillParked = await LocalConversation.open({
      workspace,
      persistenceDir,
      conversationId: remote.id,
    });
    expect(stillParked.state.teleport).toMatchObject({ to: server.url });
    await stillParked.close();

    const back = await teleport(remote, {
      to: { persistenceDir, workspace },
      includeWorkspace: true,
      overwrite: true,
    });
    expect(await readFile(join(localWorkingDir, 'shared.txt'), 'utf8')).toBe('remote\n');
    await back.close();
  });
});
