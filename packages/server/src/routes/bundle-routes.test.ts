import { startScriptedLLMServer, toolCall, type ScriptedLLMServer } from '@ferry/sdk-core/testing';
import { randomBytes } from 'node:crypto';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ConversationInfo } from '../schemas/conversation-schemas';
import type { FerryServer } from '../server';
import { useTestServers } from './bundle-test-servers';
import {
  TEST_API_KEY,
  allEvents,
  scriptedAgent,
  snapshotTree,
  waitForStatus,
  type TestClient,
} from '../test-support';

const { newServer, scriptedLLM, onCleanup } = useTestServers();

async function exportBundle(server: FerryServer, id: string, query = ''): Promise<Response> {
  return fetch(`${server.url}/api/conversations/${id}/export${query}`, {
    headers: { 'x-session-api-key': TEST_API_KEY },
  });
}

async function importBundle(
  server: FerryServer,
  bundle: Uint8Array,
  options: { query?: string; headers?: Record<string, string> } = {},
): Promise<{
  status: number;
  body: {
    conversation: ConversationInfo;
    manifest: { conversation_id: string; event_count: number };
  } & { code?: string };
}> {
  const response = await fetch(`${server.url}/api/conversations/import${options.query ?? ''}`, {
    method: 'POST',
    headers: {
      'x-session-api-key': TEST_API_KEY,
      'content-type': 'application/gzip',
      ...options.headers,
    },
    body: bundle,
  });
  return { status: response.status, body: (await response.json()) as never };
}

/** Imports `bundle` as a multipart form, its fields (the agent) in the given order. */
async function importForm(
  server: FerryServer,
  parts: ({ agent: unknown } | { bundle: Uint8Array })[],
  query = '',
): Promise<{ status: number; body: { conversation: ConversationInfo; code?: string } }> {
  const form = new FormData();
  for (const part of parts) {
    if ('agent' in part) form.append('agent', JSON.stringify(part.agent));
    else form.append('bundle', new Blob([part.bundle]), 'bundle.tar.gz');
  }
  const response = await fetch(`${server.url}/api/conversations/import${query}`, {
    method: 'POST',
    headers: { 'x-session-api-key': TEST_API_KEY },
    body: form,
  });
  return { status: response.status, body: (await response.json()) as never };
}

async function segments(server: FerryServer, id: string): Promise<Record<string, string>> {
  const dir = join(server.dataDir, 'conversations', id.replaceAll('-', ''), 'events');
  const files: Record<string, string> = {};
  for (const name of await readdir(dir)) files[name] = await readFile(join(dir, name), 'utf8');
  return files;
}

function withoutUpdatedAt(info: ConversationInfo): Omit<ConversationInfo, 'updated_at'> {
  const { updated_at: _updatedAt, ...rest } = info;
  return rest;
}

async function finished(client: TestClient, llm: ScriptedLLMServer): Promise<ConversationInfo> {
  const created = await client.request<ConversationInfo>('POST', '/api/conversations', {
    body: {
      agent: scriptedAgent(llm),
      initial_message: { content: [{ type: 'text', text: 'travel well' }], run: true },
      secrets: { TOKEN: 'bundle-secret-value' },
    },
  });
  return waitForStatus(client, created.body.id, ['finished']);
}

/** A finished conversation on a new server A, its bundle, and a second server B to take it. */
async function bundledOnA() {
  const llm = await scriptedLLM();
  const a = await newServer();
  const b = await newServer();
  const info = await finished(a.client, llm);
  const bundle = Buffer.from(await (await exportBundle(a.server, info.id)).arrayBuffer());
  return { llm, a, b, info, bundle };
}

describe('conversation bundles', () => {
  it('exports from one server and imports into another: same id, state and events', async () => {
    const llm = await scriptedLLM();
    const a = await newServer();
    const b = await newServer();
    const info = await finished(a.client, llm);

    const exported = await exportBundle(a.server, info.id);
    expect(exported.status).toBe(200);
    expect(exported.headers.get('content-type')).toContain('application/gzip');
    const bundle = new Uint8Array(await exported.arrayBuffer());
    expect(Buffer.from(bundle).includes('bundle-secret-value')).toBe(false);
    expect(Buffer.from(bundle).includes('sk-test-scripted-secret')).toBe(false);

    const imported = await importBundle(b.server, bundle);
    expect(imported.status).toBe(201);
    expect(imported.body.manifest.conversation_id).toBe(info.id);
    expect(imported.body.conversation.id).toBe(info.id);

    const stateA = await a.client.request<ConversationInfo>('GET', `/api/conversations/${info.id}`);
    const stateB = await b.client.request<ConversationInfo>('GET', `/api/conversations/${info.id}`);
    expect(withoutUpdatedAt(stateB.body)).toEqual(withoutUpdatedAt(stateA.body));
    expect(await segments(b.server, info.id)).toEqual(await segments(a.server, info.id));
    expect(await allEvents(b.client, info.id)).toEqual(await allEvents(a.client, info.id));

    const again = await importBundle(b.server, bundle);
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('BUNDLE_CONFLICT');
    const replaced = await importBundle(b.server, bundle, { query: '?overwrite=true' });
    expect(replaced.status).toBe(201);
  });

  it('imports with an agent sent alongside (header or multipart), with the workspace, and runs on', async () => {
    const llm = await scriptedLLM();
    const a = await newServer();
    const b = await newServer();
    const info = await finished(a.client, llm);
    await writeFile(join(info.workspace.working_dir, 'notes.txt'), 'carried along\n');
    const bundle = new Uint8Array(
      await (await exportBundle(a.server, info.id, '?include_workspace=true')).arrayBuffer(),
    );

    const agent = scriptedAgent(llm, { model: 'scripted-on-b' });
    const { status, body } = await importForm(
      b.server,
      [{ agent }, { bundle }],
      '?teleport_from=laptop',
    );
    expect(status).toBe(201);
    expect(body.conversation.agent.llm.model).toBe('scripted-on-b');
    expect(body.conversation.agent.llm.api_key).toBe('**********');
    const workingDir = body.conversation.workspace.working_dir;
    expect(workingDir.startsWith(b.server.workspaceRoot)).toBe(true);
    expect(await readFile(join(workingDir, 'notes.txt'), 'utf8')).toBe('carried along\n');
    const teleport = (await allEvents(b.client, info.id, { full: true })).find(
      (event) => event.kind === 'TeleportEvent',
    );
    expect(teleport).toMatchObject({ from: 'laptop', to: b.server.url });

    await b.client.request('POST', `/api/conversations/${info.id}/events`, {
      body: { content: [{ type: 'text', text: 'continue on b' }], run: true },
    });
    await waitForStatus(b.client, info.id, ['finished']);
    expect(llm.requests.at(-1)?.model).toBe('scripted-on-b');

    const headerAgent = Buffer.from(JSON.stringify(agent)).toString('base64');
    const c = await newServer();
    const viaHeader = await importBundle(c.server, bundle, {
      headers: { 'x-ferry-agent': headerAgent },
    });
    expect(viaHeader.status).toBe(201);
    expect(viaHeader.body.conversation.agent.llm.model).toBe('scripted-on-b');

    const removed = await importBundle((await newServer()).server, bundle, {
      headers: {
        'x-ferry-agent': Buffer.from(
          JSON.stringify({ ...agent, include_default_tools: [] }),
        ).toString('base64'),
      },
    });
    expect(removed.status).toBe(422);
    expect(removed.body.code).toBe('TOOLS_REMOVED');
  });

  it('takes an agent field sent after the bundle, and answers a refused upload still being sent', async () => {
    const { llm, b, bundle } = await bundledOnA();

    // The bundle is imported as it arrives; the agent after it still counts, before anything
    // is kept.
    const late = await importForm(b.server, [
      { bundle },
      { agent: scriptedAgent(llm, { model: 'sent-after' }) },
    ]);
    expect(late.status).toBe(201);
    expect(late.body.conversation.agent.llm.model).toBe('sent-after');

    const removed = { ...scriptedAgent(llm), include_default_tools: [] };
    const refused = await importForm(b.server, [{ bundle }, { agent: removed }], '?overwrite=true');
    expect(refused.status).toBe(422);
    expect(refused.body.code).toBe('TOOLS_REMOVED');

    // Not a gzip stream: refused at its first bytes, answered once the rest has been read.
    const junk = Buffer.concat([Buffer.from('not a bundle'), randomBytes(12 * 1024 * 1024)]);
    const answer = await importBundle(b.server, junk);
    expect(answer.status).toBe(422);
    expect(answer.body.code).toBe('BUNDLE_INVALID');
  });

  it('an import that was arriving while another import of it landed replaces that parked copy', async () => {
    const { a, b, info, bundle } = await bundledOnA();
    const query = '?teleport_from=laptop&pending=true';

    // The second import starts first and stalls after its manifest (a teleport retried after a
    // client died mid-upload, say); the first lands in the meantime, parked.
    let answer!: (status: number) => void;
    const slowStatus = new Promise<number>((resolve) => (answer = resolve));
    const slow = request(`${b.server.url}/api/conversations/import${query}`, {
      method: 'POST',
      headers: {
        'x-session-api-key': TEST_API_KEY,
        'content-type': 'application/gzip',
        'content-length': String(bundle.length),
      },
    });
    slow.on('response', (response) => {
      response.resume();
      answer(response.statusCode ?? 0);
    });
    slow.write(bundle.subarray(0, bundle.length - 64));
    await new Promise((resolve) => setTimeout(resolve, 300));
    const first = await importBundle(b.server, bundle, { query });
    expect(first.status).toBe(201);
    slow.end(bundle.subarray(bundle.length - 64));
    expect(await slowStatus).toBe(201);
    const parked = await b.client.request<ConversationInfo>('GET', `/api/conversations/${info.id}`);
    expect(parked.body.id).toBe(info.id);
    expect(await segments(b.server, info.id)).toEqual(await segments(a.server, info.id));
  });

  it('parks a conversation that teleported away, and takes it back', async () => {
    const llm = await scriptedLLM();
    const a = await newServer();
    const info = await finished(a.client, llm);
    const bundle = new Uint8Array(await (await exportBundle(a.server, info.id)).arrayBuffer());

    const parked = await a.client.request('POST', `/api/conversations/${info.id}/mark_teleported`, {
      body: { to: 'laptop:/home/me/ferry' },
    });
    expect(parked.status).toBe(200);
    const refused = await a.client.request('POST', `/api/conversations/${info.id}/run`);
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({
      code: 'CONVERSATION_TELEPORTED',
      to: 'laptop:/home/me/ferry',
    });
    const message = await a.client.request('POST', `/api/conversations/${info.id}/events`, {
      body: { content: [{ type: 'text', text: 'still there?' }] },
    });
    expect(message.status).toBe(409);

    const back = await importBundle(a.server, bundle, {
      query: '?teleport_from=laptop',
      headers: {
        'x-ferry-agent': Buffer.from(JSON.stringify(scriptedAgent(llm))).toString('base64'),
      },
    });
    expect(back.status).toBe(201);
    expect(back.body.conversation.teleport ?? null).toBeNull();
    expect((await a.client.request('POST', `/api/conversations/${info.id}/run`)).status).toBe(200);
    await waitForStatus(a.client, info.id, ['finished']);
  });

  it('imports a conversation pending, runnable only once its arrival is confirmed', async () => {
    const { b, info, bundle } = await bundledOnA();

    const pending = await importBundle(b.server, bundle, {
      query: '?teleport_from=laptop&pending=true',
    });
    expect(pending.status).toBe(201);
    expect(pending.body.conversation.teleport).toMatchObject({ to: 'laptop' });
    const refused = await b.client.request('POST', `/api/conversations/${info.id}/run`);
    expect(refused.status).toBe(409);
    expect(refused.body).toMatchObject({ code: 'CONVERSATION_TELEPORTED', to: 'laptop' });

    const bundleId = (pending.body.manifest as { bundle_id?: string }).bundle_id;
    const wrong = await b.client.request('POST', `/api/conversations/${info.id}/arrive`, {
      body: { bundle_id: 'another-bundle' },
    });
    expect(wrong.status).toBe(409);
    expect(wrong.body).toMatchObject({ code: 'BUNDLE_CONFLICT' });
    for (let attempt = 0; attempt < 2; attempt += 1) {
      const arrived = await b.client.request('POST', `/api/conversations/${info.id}/arrive`, {
        body: { bundle_id: bundleId },
      });
      expect(arrived.status).toBe(200);
    }
    const events = await allEvents(b.client, info.id, { full: true });
    expect(events.filter((event) => event.kind === 'TeleportEvent')).toEqual([
      expect.objectContaining({ from: 'laptop', bundle_id: bundleId }),
    ]);
    expect((await b.client.request('POST', `/api/conversations/${info.id}/run`)).status).toBe(200);
    await waitForStatus(b.client, info.id, ['finished']);
  });

  it('refuses to park a conversation that changed since its export, and leaves it running here', async () => {
    const llm = await scriptedLLM();
    const a = await newServer();
    const info = await finished(a.client, llm);
    const exported = await exportBundle(a.server, info.id);
    expect(exported.status).toBe(200);
    await exported.arrayBuffer();
    const exportedCount = Number(exported.headers.get('x-ferry-event-count'));
    const exportedEvents = await allEvents(a.client, info.id);
    expect(exportedEvents).toHaveLength(exportedCount);
    const lastExported = exportedEvents.at(-1)?.id;

    // A message lands on the server after the export: parking now would leave it behind.
    const late = await a.client.request('POST', `/api/conversations/${info.id}/events`, {
      body: { content: [{ type: 'text', text: 'sent after the export' }] },
    });
    expect(late.status).toBe(200);
    const path = `/api/conversations/${info.id}/mark_teleported`;
    const byCount = await a.client.request('POST', path, {
      body: { to: 'laptop:/home/me/ferry', event_count: exportedCount },
    });
    expect(byCount.status).toBe(409);
    expect(byCount.body).toMatchObject({
      code: 'BUNDLE_SOURCE_CHANGED',
      name: 'ConversationChangedSinceExportError',
      conversation_id: info.id,
      expected_event_count: exportedCount,
      event_count: exportedCount + 1,
    });
    expect(String(byCount.body.detail)).toContain('stays here');
    const byLastId = await a.client.request('POST', path, {
      body: { to: 'laptop:/home/me/ferry', last_event_id: lastExported },
    });
    expect(byLastId.status).toBe(409);
    expect(byLastId.body).toMatchObject({
      code: 'BUNDLE_SOURCE_CHANGED',
      expected_last_event_id: lastExported,
    });

    // Not parked: it still runs here, and the late message is in its log.
    const state = await a.client.request<ConversationInfo>('GET', `/api/conversations/${info.id}`);
    expect(state.body.teleport ?? null).toBeNull();
    expect((await a.client.request('POST', `/api/conversations/${info.id}/run`)).status).toBe(200);
    const after = await waitForStatus(a.client, info.id, ['finished']);
    expect(after.teleport ?? null).toBeNull();

    // Wrong types are refused before anything happens.
    const negative = await a.client.request('POST', path, {
      body: { to: 'laptop', event_count: -1 },
    });
    expect(negative.status).toBe(422);
    expect(negative.body.code).toBe('VALIDATION_ERROR');

    // With the count and last id of a fresh export, it parks.
    const fresh = await exportBundle(a.server, info.id);
    await fresh.arrayBuffer();
    const freshCount = Number(fresh.headers.get('x-ferry-event-count'));
    const freshLast = (await allEvents(a.client, info.id)).at(-1)?.id;
    const parked = await a.client.request('POST', path, {
      body: { to: 'laptop:/home/me/ferry', event_count: freshCount, last_event_id: freshLast },
    });
    expect(parked.status).toBe(200);
    const refused = await a.client.request('POST', `/api/conversations/${info.id}/run`);
    expect(refused.body).toMatchObject({ code: 'CONVERSATION_TELEPORTED' });
  });

  it('refuses a damaged bundle or a running export, changing nothing on disk', async () => {
    const llm = await startScriptedLLMServer({
      script: [toolCall('finish', { message: 'late' }, { delayMs: 60_000 })],
    });
    onCleanup(() => llm.close());
    const a = await newServer();
    const created = await a.client.request<ConversationInfo>('POST', '/api/conversations', {
      body: {
        agent: scriptedAgent(llm),
        initial_message: { content: [{ type: 'text', text: 'go' }], run: true },
      },
    });
    await llm.waitForRequest(1);
    expect((await exportBundle(a.server, created.body.id)).status).toBe(409);
    await a.client.request('POST', `/api/conversations/${created.body.id}/interrupt`);

    const before = await snapshotTree(a.server.dataDir);
    const garbage = await importBundle(a.server, randomBytes(4096));
    expect(garbage.status).toBe(422);
    const notGzip = await importBundle(a.server, Buffer.from('plain text, not a bundle'));
    expect(notGzip.status).toBe(422);
    const badAgent = await importBundle(a.server, randomBytes(16), {
      headers: { 'x-ferry-agent': Buffer.from('{"llm": {}}').toString('base64') },
    });
    expect(badAgent.status).toBe(422);
    expect(badAgent.body.code).toBe('VALIDATION_ERROR');
    expect((await exportBundle(a.server, '00000000-0000-4000-8000-000000000000')).status).toBe(404);
    expect(await snapshotTree(a.server.dataDir)).toEqual(before);
  });
});
