import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  createTemporaryDirectory,
  httpError,
  startScriptedLLMServer,
  text,
  toolCall,
  type ScriptedLLMServer,
  type TemporaryDirectory,
} from '@ferry/sdk-core/testing';
import { startServer, type FerryServer } from '@ferry/server';
import { httpRequest, type HttpAnswer } from './hostile-client';
import { Opcode, openRawWebSocket } from './hostile-websocket';

/** A value unique to this run, with characters that URL and base64 encodings change. */
const planted = (label: string) =>
  `${label}/${randomBytes(10).toString('hex')}+${randomBytes(10).toString('hex')}=`;

const API_KEY = planted('ferry-api-key');
const SECRETS = {
  apiKey: API_KEY,
  wrongKey: planted('ferry-wrong-key'),
  llmKey: planted('sk-ferry-llm'),
  failingLlmKey: planted('sk-ferry-failing'),
  startSecret: planted('ferry-start-secret'),
  registry: planted('ferry-registry'),
  toolSecret: planted('ferry-tool-secret'),
};
const TOOL_SECRET = SECRETS.toolSecret;
const PLANTED = [
  SECRETS.apiKey,
  SECRETS.wrongKey,
  SECRETS.llmKey,
  SECRETS.failingLlmKey,
  SECRETS.startSecret,
  SECRETS.registry,
  TOOL_SECRET,
];

/** Every form a planted value could take in a log line. */
function forms(secret: string): Record<string, string> {
  const bytes = Buffer.from(secret);
  return {
    plain: secret,
    base64: bytes.toString('base64'),
    base64url: bytes.toString('base64url'),
    'URL-encoded': encodeURIComponent(secret),
    'form-encoded': new URLSearchParams({ v: secret }).toString().slice(2),
    hex: bytes.toString('hex'),
  };
}

let dir: TemporaryDirectory;
let llm: ScriptedLLMServer;
let server: FerryServer;
const logged: string[] = [];
/** What anything in this process wrote to stdout and stderr directly, besides the logger. */
const printed: string[] = [];
const restores: (() => void)[] = [];

function capture(stream: NodeJS.WriteStream): void {
  const write = stream.write.bind(stream);
  const recording = (chunk: string | Uint8Array, ...rest: never[]): boolean => {
    printed.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return write(chunk, ...rest);
  };
  stream.write = recording;
  restores.push(() => {
    stream.write = write;
  });
}

function api(
  method: string,
  path: string,
  body?: unknown,
  options: { key?: string; raw?: string; from?: string } = {},
): Promise<HttpAnswer> {
  const payload = options.raw ?? (body === undefined ? undefined : JSON.stringify(body));
  return httpRequest(server.url, {
    method,
    path,
    headers: {
      'x-session-api-key': options.key ?? API_KEY,
      ...(payload === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(payload === undefined ? {} : { body: payload }),
    ...(options.from === undefined ? {} : { localAddress: options.from }),
  });
}

function agent(model: string, key: string) {
  return {
    kind: 'Agent',
    llm: { model, base_url: llm.baseUrl, api_key: key, num_retries: 0 },
    tools: [{ name: 'terminal' }],
  };
}

async function waitForStatus(id: string, status: string): Promise<void> {
  await vi.waitFor(
    async () => {
      const info = (await api('GET', `/api/conversations/${id}`)).json as {
        execution_status: string;
      };
      if (info.execution_status !== status) throw new Error(`status ${info.execution_status}`);
    },
    { timeout: 30_000, interval: 50 },
  );
}

beforeAll(async () => {
  dir = await createTemporaryDirectory();
  // One model prints three secrets (its command holds only their halves), one fails as a
  // provider refusing a key does.
  llm = await startScriptedLLMServer({
    respond: (request) => {
      if (request.model === 'failing-model') {
        return httpError(401, { message: 'Incorrect API key provided.' });
      }
      return request.messages.at(-1)?.role === 'user'
        ? toolCall('terminal', {
            command: [TOOL_SECRET, SECRETS.registry, SECRETS.startSecret]
              .map((secret) => `echo '${secret.slice(0, 12)}''${secret.slice(12)}'`)
              .join('; '),
          })
        : text('Done.');
    },
  });
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logged.push(chunk.toString('utf8'));
      done();
    },
  });
  capture(process.stdout);
  capture(process.stderr);
  server = await startServer({
    host: '127.0.0.1',
    port: 0,
    dataDir: join(dir.path, 'data'),
    apiKey: API_KEY,
    logger: { level: 'trace', stream },
  });
});

afterAll(async () => {
  for (const restore of restores.splice(0)) restore();
  await server?.close();
  await llm?.close();
  await dir?.[Symbol.asyncDispose]();
});

describe('server logs: no planted secret, in any encoding', () => {
  it('a flow with API, LLM, registry and tool secrets, and failing requests, logs none', async () => {
    // A conversation with secrets at the start and through the secrets route, whose tool
    // prints two of them.
    const created = await api('POST', '/api/conversations', {
      agent: agent('secrets-model', SECRETS.llmKey),
      secrets: { START_TOKEN: SECRETS.startSecret },
    });
    expect(created.status, created.body.toString()).toBe(201);
    const id = (created.json as { id: string }).id;
    const secrets = await api('POST', `/api/conversations/${id}/secrets`, {
      secrets: { REGISTRY_TOKEN: SECRETS.registry, TOOL_TOKEN: { value: TOOL_SECRET } },
    });
    expect(secrets.status).toBe(200);
    const sent = await api('POST', `/api/conversations/${id}/events`, {
      content: [{ type: 'text', text: 'Print the secrets.' }],
      run: true,
    });
    expect(sent.status).toBe(200);
    await waitForStatus(id, 'finished');
    const events = (await api('GET', `/api/conversations/${id}/events/search?limit=100`)).body;
    // The tool did print them: its output holds the mask, so the scan below means something.
    expect(events.toString().split('<secret-hidden>').length - 1).toBeGreaterThanOrEqual(3);

    // A run whose provider refuses its key.
    const failing = await api('POST', '/api/conversations', {
      agent: agent('failing-model', SECRETS.failingLlmKey),
      initial_message: { content: [{ type: 'text', text: 'Fail.' }], run: true },
    });
    expect(failing.status).toBe(201);
    await waitForStatus((failing.json as { id: string }).id, 'error');

    // Failing requests from another client: wrong keys (one with a secret in its body), past
    // the rate limit; bodies that do not parse or validate; sockets with a wrong key in the
    // URL, a header and a first frame, and the right one in the URL.
    const guesser = { key: SECRETS.wrongKey, from: '127.0.0.2' };
    const wrong = await api(
      'POST',
      `/api/conversations/${id}/secrets`,
      { secrets: { REGISTRY_TOKEN: SECRETS.registry } },
      guesser,
    );
    expect(wrong.status).toBe(401);
    const statuses = new Set<number>();
    for (let attempt = 0; attempt < 50; attempt += 1) {
      statuses.add((await api('GET', '/api/conversations/count', undefined, guesser)).status);
    }
    expect([...statuses].sort()).toEqual([401, 429]);
    const malformed = await api('POST', '/api/conversations', undefined, {
      raw: `{"agent": {"llm": {"api_key": "${SECRETS.llmKey}", `,
    });
    expect(malformed.status).toBe(400);
    const invalid = await api('POST', '/api/conversations', {
      agent: {
        llm: { model: 5, api_key: SECRETS.llmKey, aws_secret_access_key: SECRETS.registry },
      },
    });
    expect(invalid.status).toBe(422);
    const path = `/sockets/events/${id}?resend_mode=all`;
    const refused = [
      await openRawWebSocket(
        server.url,
        `${path}&session_api_key=${encodeURIComponent(SECRETS.wrongKey)}`,
        { localAddress: '127.0.0.3' },
      ),
      await openRawWebSocket(server.url, path, {
        headers: { 'X-Session-API-Key': SECRETS.wrongKey },
        localAddress: '127.0.0.3',
      }),
    ];
    const byFrame = await openRawWebSocket(server.url, path, { localAddress: '127.0.0.3' });
    byFrame.send(Opcode.text, JSON.stringify({ type: 'auth', session_api_key: SECRETS.wrongKey }));
    for (const socket of [...refused, byFrame]) expect((await socket.closed).code).toBe(4001);
    const accepted = await openRawWebSocket(
      server.url,
      `${path}&session_api_key=${encodeURIComponent(API_KEY)}`,
    );
    await accepted.waitForCount(1);
    accepted.destroy();

    expect(logged.length).toBeGreaterThan(0);
    await scan();
  });
});

async function scan(): Promise<void> {
  await server.close();
  for (const restore of restores.splice(0)) restore();
  const all = [...logged, ...printed].join('');
  // The capture works: requests, the redacted socket URL and the failed run are all there.
  expect(all).toContain('/api/conversations');
  expect(all).toContain('session_api_key=[redacted]');
  const found: string[] = [];
  for (const secret of PLANTED) {
    for (const [form, value] of Object.entries(forms(secret))) {
      if (all.includes(value)) found.push(`${form} ${secret}`);
    }
  }
  console.info(
    `server log secrets: ${logged.length} log lines (${all.length} bytes) scanned for ` +
      `${PLANTED.length} planted values in 6 encodings: ${found.length} hits`,
  );
  expect(found).toEqual([]);
}
