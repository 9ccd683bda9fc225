import { startServer } from '@ferry/server';
import { createTemporaryDirectory } from '@ferry/sdk-core/testing';
import { describe, expect, it } from 'vitest';
import { RemoteServerError, RemoteWorkspace } from './remote-workspace';

describe('RemoteWorkspace against a real ferry server', () => {
  it('reads the server info', async () => {
    await using dir = await createTemporaryDirectory();
    await using server = await startServer({ port: 0, dataDir: dir.path });
    const workspace = new RemoteWorkspace({ host: server.url, workingDir: '/work' });
    const info = await workspace.serverInfo();
    expect(info.name).toBe('ferry-server');
  });

  it('reports an unreachable server as RemoteServerError', async () => {
    await using dir = await createTemporaryDirectory();
    const server = await startServer({ port: 0, dataDir: dir.path });
    const url = server.url;
    await server.close();
    const workspace = new RemoteWorkspace({ host: url, workingDir: '/work', timeout: 5 });
    await expect(workspace.serverInfo()).rejects.toThrow(RemoteServerError);
  });

  it('rejects a host that is not a URL with a hint', () => {
    expect(() => new RemoteWorkspace({ host: 'localhost:8000', workingDir: '/' })).toThrow(
      /is not an http\(s\) URL/,
    );
  });
});
