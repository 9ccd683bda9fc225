import { createTemporaryDirectory } from '@ferry/sdk-core/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { startServer, type FerryServer } from './server';

describe('startServer', () => {
  let server: FerryServer | undefined;
  afterEach(async () => {
    await server?.close();
  });

  it('listens on a free loopback port and answers the open health routes', async () => {
    await using dir = await createTemporaryDirectory();
    server = await startServer({ host: '127.0.0.1', port: 0, dataDir: dir.path });
    expect(server.port).toBeGreaterThan(0);
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);

    const alive = await fetch(`${server.url}/alive`);
    expect(alive.status).toBe(200);
    expect(await alive.json()).toEqual({ status: 'ok' });
    expect(await (await fetch(`${server.url}/health`)).text()).toBe('OK');
    const info = (await (await fetch(`${server.url}/server_info`)).json()) as { name: string };
    expect(info.name).toBe('ferry-server');
  });
});
