import { createTemporaryDirectory } from '@ferry/sdk-core/testing';
import { createRequire } from 'node:module';
import { afterEach, describe, expect, it } from 'vitest';
import { version as ferryVersion } from '../../package.json';
import type { FerryServer } from '../server';
import { startTestServer, TEST_API_KEY } from '../test-support';

// As in openhands-client.integration.test.ts: the client's ESM build calls `require('ws')`.
(globalThis as { require?: NodeJS.Require }).require ??= createRequire(import.meta.url);
const oh = await import('@openhands/typescript-client');

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serve(): Promise<FerryServer> {
  const dir = await createTemporaryDirectory();
  cleanups.push(() => dir.remove());
  const server = await startTestServer(cleanups, { dataDir: dir.path });
  return server;
}

describe('the open server routes', () => {
  it('answers /alive and /health with {"status":"ok"} and /ready with {"status":"ready"}, as OpenHands', async () => {
    const server = await serve();
    for (const path of ['/alive', '/health']) {
      const response = await fetch(`${server.url}${path}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await response.json()).toEqual({ status: 'ok' });
    }
    expect(await (await fetch(`${server.url}/ready`)).json()).toEqual({ status: 'ready' });
  });

  it("reports the OpenHands protocol version where OpenHands' client checks it, and Ferry's beside it", async () => {
    const server = await serve();
    const info = (await (await fetch(`${server.url}/server_info`)).json()) as Record<
      string,
      unknown
    >;
    expect(info).toMatchObject({
      name: 'ferry-server',
      version: '1.43.1',
      ferry_version: ferryVersion,
    });
    expect(info.uptime).toEqual(expect.any(Number));
    expect(info.idle_time).toEqual(expect.any(Number));

    const client = new oh.HttpClient({ baseUrl: server.url, apiKey: TEST_API_KEY });
    for (const requirement of Object.values(oh.AgentServerFeatureRequirements)) {
      await expect(oh.assertAgentServerSupports(client, requirement)).resolves.toMatchObject({
        version: '1.43.1',
      });
    }
  });
});
