import { createTemporaryDirectory, startScriptedLLMServer, text } from '@ferry/sdk-core/testing';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ConversationInfo } from '../schemas/conversation-schemas';
import { startServer } from '../server';
import { TEST_API_KEY, allEvents, scriptedAgent, testClient } from '../test-support';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const SECRET_VALUE = 'ghp-plaintext-never-leaves-000';
const PROFILE_KEY = 'sk-profile-key-never-leaves-111';

async function setup(secretKey: string | undefined) {
  const dir = await createTemporaryDirectory();
  cleanups.push(() => dir.remove());
  const logs: string[] = [];
  const server = await startServer({
    port: 0,
    dataDir: join(dir.path, 'data'),
    workspaceRoot: join(dir.path, 'workspaces'),
    apiKey: TEST_API_KEY,
    ...(secretKey === undefined ? {} : { secretKey }),
    logger: { level: 'trace', stream: { write: (line: string) => logs.push(line) } },
  });
  cleanups.push(() => server.close());
  return { dir, server, client: testClient(server), logs };
}

describe('/api/settings/secrets', () => {
  it('stores secrets encrypted, lists names only, deletes them; nothing holds the value', async () => {
    const { dir, client, logs } = await setup('a-test-secret-key-of-enough-length');
    const put = await client.request('PUT', '/api/settings/secrets', {
      body: { name: 'GITHUB_TOKEN', value: SECRET_VALUE, description: 'for pushes' },
    });
    expect(put).toEqual({ status: 200, body: { name: 'GITHUB_TOKEN', description: 'for pushes' } });
    await client.request('PUT', '/api/settings/secrets', { body: { name: 'OTHER', value: 'x' } });
    const listed = await client.request('GET', '/api/settings/secrets');
    expect(listed).toEqual({
      status: 200,
      body: {
        secrets: [
          { name: 'GITHUB_TOKEN', description: 'for pushes' },
          { name: 'OTHER', description: null },
        ],
      },
    });
    const onDisk = await readFile(join(dir.path, 'data/settings.json'), 'utf8');
    expect(onDisk).toContain('GITHUB_TOKEN');
    expect(onDisk).not.toContain(SECRET_VALUE);
    expect(logs.join('\n')).not.toContain(SECRET_VALUE);
    expect(JSON.stringify(listed.body)).not.toContain(SECRET_VALUE);
    // OpenHands answers a secret's value here; Ferry never sends one back.
    expect((await client.request('GET', '/api/settings/secrets/GITHUB_TOKEN')).status).toBe(404);

    expect(await client.request('DELETE', '/api/settings/secrets/OTHER')).toEqual({
      status: 200,
      body: { deleted: true },
    });
    expect((await client.request('DELETE', '/api/settings/secrets/OTHER')).status).toBe(404);
    const badName = await client.request('PUT', '/api/settings/secrets', {
      body: { name: '1bad-name', value: 'x' },
    });
    expect(badName.status).toBe(422);
  });

  it('refuses to store a secret or a profile key without a server secret key (409)', async () => {
    const previous = process.env.FERRY_SECRET_KEY;
    delete process.env.FERRY_SECRET_KEY;
    try {
      const { dir, client } = await setup(undefined);
      const put = await client.request('PUT', '/api/settings/secrets', {
        body: { name: 'TOKEN', value: SECRET_VALUE },
      });
      expect(put.status).toBe(409);
      expect(put.body).toMatchObject({ code: 'SECRET_KEY_REQUIRED' });
      const profile = await client.request('POST', '/api/profiles/keyed', {
        body: { llm: { model: 'gpt-x', api_key: PROFILE_KEY } },
      });
      expect(profile.status).toBe(409);
      const keyless = await client.request('POST', '/api/profiles/keyless', {
        body: { llm: { model: 'gpt-x', api_key: PROFILE_KEY }, include_secrets: false },
      });
      expect(keyless.status).toBe(201);
      const onDisk = await readFile(join(dir.path, 'data/settings.json'), 'utf8');
      expect(onDisk).not.toContain(PROFILE_KEY);
      expect(onDisk).not.toContain(SECRET_VALUE);
    } finally {
      if (previous !== undefined) process.env.FERRY_SECRET_KEY = previous;
    }
  });
});

describe('/api/profiles and switch_profile', () => {
  it('saves, lists, shows without the key, renames, activates, deletes, and switches a conversation', async () => {
    const { dir, client, logs } = await setup('a-test-secret-key-of-enough-length');
    const llm = await startScriptedLLMServer({ script: [text('from the profile')] });
    cleanups.push(() => llm.close());
    const saved = await client.request('POST', '/api/profiles/fast', {
      body: { llm: { model: 'profiled', base_url: llm.baseUrl, api_key: PROFILE_KEY } },
    });
    expect(saved).toEqual({ status: 201, body: { name: 'fast', message: "Profile 'fast' saved" } });
    expect(await client.request('GET', '/api/profiles')).toEqual({
      status: 200,
      body: {
        profiles: [{ name: 'fast', model: 'profiled', base_url: llm.baseUrl, api_key_set: true }],
        active_profile: null,
      },
    });
    const shown = await client.request<{ config: Record<string, unknown> }>(
      'GET',
      '/api/profiles/fast',
      { headers: { 'x-expose-secrets': 'plaintext' } },
    );
    expect(shown.status).toBe(200);
    expect(shown.body).toMatchObject({ name: 'fast', api_key_set: true });
    expect(shown.body.config).toMatchObject({ model: 'profiled', api_key: null });
    expect((await client.request('GET', '/api/profiles/missing')).status).toBe(404);
    expect((await client.request('GET', '/api/profiles/-bad')).status).toBe(422);

    expect(
      (await client.request('POST', '/api/profiles/fast/rename', { body: { new_name: 'quick' } }))
        .body,
    ).toEqual({ name: 'quick', message: "Profile 'fast' renamed to 'quick'" });
    expect((await client.request('POST', '/api/profiles/quick/activate')).body).toMatchObject({
      name: 'quick',
    });
    expect((await client.request('GET', '/api/profiles')).body).toMatchObject({
      active_profile: 'quick',
    });
    expect((await client.request('POST', '/api/profiles/fast/activate')).status).toBe(404);

    const created = await client.request<ConversationInfo>('POST', '/api/conversations', {
      body: { agent: scriptedAgent(llm, { model: 'original' }) },
    });
    const id = created.body.id;
    const switched = await client.request('POST', `/api/conversations/${id}/switch_profile`, {
      body: { profile_name: 'quick' },
    });
    expect(switched).toEqual({ status: 200, body: { success: true } });
    const info = await client.request<ConversationInfo>('GET', `/api/conversations/${id}`);
    expect(JSON.stringify(info.body)).toContain('profiled');
    expect(JSON.stringify(info.body)).not.toContain(PROFILE_KEY);
    const unknown = await client.request('POST', `/api/conversations/${id}/switch_profile`, {
      body: { profile_name: 'nope' },
    });
    expect(unknown.status).toBe(404);

    await client.request('POST', `/api/conversations/${id}/events`, {
      body: { role: 'user', content: [{ type: 'text', text: 'hi' }], run: true },
    });
    await expect
      .poll(async () => (await allEvents(client, id)).some((event) => event.source === 'agent'), {
        timeout: 20_000,
      })
      .toBe(true);
    // The run used the profile's model, with a key (the scripted server records it redacted).
    expect(llm.requests.at(-1)).toMatchObject({
      model: 'profiled',
      headers: { authorization: 'Bearer ***' },
    });

    expect((await client.request('DELETE', '/api/profiles/quick')).status).toBe(200);
    expect((await client.request('GET', '/api/profiles')).body).toEqual({
      profiles: [],
      active_profile: null,
    });
    const onDisk = await readFile(join(dir.path, 'data/settings.json'), 'utf8');
    expect(onDisk).not.toContain(PROFILE_KEY);
    expect(logs.join('\n')).not.toContain(PROFILE_KEY);
    const events = JSON.stringify(await allEvents(client, id));
    expect(events).not.toContain(PROFILE_KEY);
  });
});
