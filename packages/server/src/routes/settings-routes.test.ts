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

describe('/api/settings', () => {
  const KEY = 'sk-settings-key-never-leaves-222';
  const TOKEN = 'mcp-token-never-leaves-333';

  it('merges diffs, keeps credentials encrypted and answers them as null, and persists', async () => {
    const { dir, server, client, logs } = await setup('a-test-secret-key-of-enough-length');
    expect(await client.request('GET', '/api/settings')).toEqual({
      status: 200,
      body: {
        agent_settings: {},
        conversation_settings: {},
        llm_api_key_is_set: false,
        active_profile: null,
        active_agent_profile_id: null,
        misc_settings: {},
      },
    });
    const empty = await client.request<{ code: string }>('PATCH', '/api/settings', { body: {} });
    expect(empty.status).toBe(400);
    expect(empty.body.code).toBe('SETTINGS_UPDATE_EMPTY');

    const patched = await client.request('PATCH', '/api/settings', {
      body: {
        agent_settings_diff: {
          llm: { model: 'openai/gpt-4.1-mini', api_key: KEY, temperature: 0.2 },
          mcp_config: {
            svc: { url: 'https://mcp.example', headers: { Authorization: TOKEN, 'X-Old': 'x' } },
          },
        },
        conversation_settings_diff: { max_iterations: 50 },
        misc_settings_diff: { theme: { mode: 'dark' } },
      },
    });
    expect(patched).toEqual({
      status: 200,
      body: {
        agent_settings: {
          llm: { model: 'openai/gpt-4.1-mini', api_key: null, temperature: 0.2 },
          mcp_config: {
            svc: { url: 'https://mcp.example', headers: { Authorization: null, 'X-Old': null } },
          },
        },
        conversation_settings: { max_iterations: 50 },
        llm_api_key_is_set: true,
        active_profile: null,
        active_agent_profile_id: null,
        misc_settings: { theme: { mode: 'dark' } },
      },
    });
    // A null inside a nested object removes that entry; other fields stay.
    const removed = await client.request<{ agent_settings: Record<string, unknown> }>(
      'PATCH',
      '/api/settings',
      {
        body: {
          agent_settings_diff: {
            llm: { temperature: 0.5 },
            mcp_config: { svc: { headers: { 'X-Old': null } } },
          },
        },
      },
    );
    expect(removed.body.agent_settings).toEqual({
      llm: { model: 'openai/gpt-4.1-mini', api_key: null, temperature: 0.5 },
      mcp_config: { svc: { url: 'https://mcp.example', headers: { Authorization: null } } },
    });
    // An invalid LLM changes nothing.
    const invalid = await client.request<{ code: string }>('PATCH', '/api/settings', {
      body: { agent_settings_diff: { llm: { model: '' } }, misc_settings_diff: { x: 1 } },
    });
    expect(invalid.status).toBe(422);
    expect(invalid.body.code).toBe('SETTINGS_INVALID');
    expect((await client.request('GET', '/api/settings')).body).toEqual(removed.body);

    const onDisk = await readFile(join(dir.path, 'data/settings.json'), 'utf8');
    for (const secret of [KEY, TOKEN]) {
      expect(onDisk).not.toContain(secret);
      expect(logs.join('\n')).not.toContain(secret);
    }
    await server.close();
    const again = await startServer({
      port: 0,
      dataDir: join(dir.path, 'data'),
      workspaceRoot: join(dir.path, 'workspaces'),
      apiKey: TEST_API_KEY,
      secretKey: 'a-test-secret-key-of-enough-length',
    });
    cleanups.push(() => again.close());
    expect((await testClient(again).request('GET', '/api/settings')).body).toEqual(removed.body);
  });

  it("activating a profile makes its LLM the settings' llm; an unknown one is 404", async () => {
    const { dir, client } = await setup('a-test-secret-key-of-enough-length');
    await client.request('POST', '/api/profiles/fast', {
      body: { llm: { model: 'profiled', api_key: KEY } },
    });
    expect((await client.request('POST', '/api/profiles/fast/activate')).body).toEqual({
      name: 'fast',
      message: "Profile 'fast' activated and applied to current settings",
      llm_applied: true,
    });
    expect((await client.request('GET', '/api/settings')).body).toMatchObject({
      agent_settings: { llm: { model: 'profiled', api_key: null } },
      llm_api_key_is_set: true,
      active_profile: 'fast',
    });
    // With an explicit llm in the diff, the profile is only recorded as active.
    const explicit = await client.request('PATCH', '/api/settings', {
      body: { active_profile: 'fast', agent_settings_diff: { llm: { model: 'mine' } } },
    });
    expect(explicit.body).toMatchObject({
      agent_settings: { llm: { model: 'mine' } },
      active_profile: 'fast',
    });
    const unknown = await client.request<{ code: string }>('PATCH', '/api/settings', {
      body: { active_profile: 'nope' },
    });
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('PROFILE_NOT_FOUND');
    const cleared = await client.request('PATCH', '/api/settings', {
      body: { active_profile: null },
    });
    expect(cleared.body).toMatchObject({
      active_profile: null,
      agent_settings: { llm: { model: 'mine' } },
    });
    expect(await readFile(join(dir.path, 'data/settings.json'), 'utf8')).not.toContain(KEY);
  });

  it('refuses a credential without a server secret key (409) and keeps the rest', async () => {
    const { client } = await setup(undefined);
    const refused = await client.request<{ code: string }>('PATCH', '/api/settings', {
      body: { agent_settings_diff: { llm: { model: 'm', api_key: KEY } } },
    });
    expect(refused.status).toBe(409);
    expect(refused.body.code).toBe('SECRET_KEY_REQUIRED');
    const plain = await client.request('PATCH', '/api/settings', {
      body: { agent_settings_diff: { llm: { model: 'm' } } },
    });
    expect(plain.body).toMatchObject({
      agent_settings: { llm: { model: 'm' } },
      llm_api_key_is_set: false,
    });
  });
});
