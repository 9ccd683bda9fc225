import { httpError, startScriptedLLMServer, text, type ScriptTurn } from '@ferry/sdk-core/testing';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestServer, testClient } from '../test-support';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const KEY = 'sk-validate-secret-value';

async function validate(turn: ScriptTurn) {
  const llm = await startScriptedLLMServer({ script: [turn] });
  cleanups.push(() => llm.close());
  const server = await startTestServer(cleanups);
  const answer = await testClient(server).request<{
    valid: boolean;
    error: { type: string; message: string } | null;
  }>('POST', '/api/profiles/draft/validate', {
    body: { llm: { model: 'draft-model', base_url: llm.baseUrl, api_key: KEY } },
  });
  return { answer, llm, server };
}

describe('POST /api/profiles/{name}/validate', () => {
  it('sends one tiny completion and answers valid, saving nothing', async () => {
    const { answer, llm, server } = await validate(text('pong'));
    expect(answer).toEqual({ status: 200, body: { valid: true, error: null } });
    expect(llm.requests).toHaveLength(1);
    expect(JSON.stringify(llm.requests[0]?.body)).toContain('ping');
    const profiles = await testClient(server).request<{ profiles: unknown[] }>(
      'GET',
      '/api/profiles',
    );
    expect(profiles.body.profiles).toEqual([]);
    await expect(readFile(join(server.dataDir, 'settings.json'), 'utf8')).rejects.toThrow();
  });

  it('answers valid: false with the error type when the key is refused, the key never echoed', async () => {
    const { answer, llm } = await validate(httpError(401, { message: `bad key ${KEY}` }));
    expect(answer.status).toBe(200);
    expect(answer.body.valid).toBe(false);
    expect(answer.body.error?.type).toBe('LLMAuthenticationError');
    expect(JSON.stringify(answer.body)).not.toContain(KEY);
    expect(llm.requests).toHaveLength(1);
  });

  it('treats a rate limit as valid, as OpenHands does (it says nothing of the configuration)', async () => {
    const { answer } = await validate(httpError(429, { message: 'slow down' }));
    expect(answer.body).toEqual({ valid: true, error: null });
  });
});
