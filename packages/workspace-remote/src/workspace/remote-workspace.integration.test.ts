import { startServer, type FerryServer } from '@ferry/server';
import { createTemporaryDirectory, type TemporaryDirectory } from '@ferry/sdk-core/testing';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RemoteServerError, RemoteWorkspace, WorkspaceCapabilityError } from '../index';

const API_KEY = 'workspace-key';

describe('RemoteWorkspace against a real ferry server', () => {
  let dir: TemporaryDirectory;
  let server: FerryServer;
  let workspace: RemoteWorkspace;

  beforeAll(async () => {
    dir = await createTemporaryDirectory({ prefix: 'ferry-remote-workspace-' });
    server = await startServer({
      host: '127.0.0.1',
      port: 0,
      dataDir: join(dir.path, 'data'),
      workspaceRoot: join(dir.path, 'root'),
      apiKey: API_KEY,
    });
    workspace = new RemoteWorkspace({
      host: server.url,
      apiKey: API_KEY,
      workingDir: join(server.workspaceRoot, 'project'),
    });
  });

  afterAll(async () => {
    await server.close();
    await dir.remove();
  });

  it('reads the server info', async () => {
    const info = await workspace.serverInfo();
    expect(info).toMatchObject({ name: 'ferry-server', version: '1.43.1' });
    expect(info.ferry_version).toEqual(expect.any(String));
  });

  it('describes itself with its host', () => {
    expect(workspace.toDescriptor()).toEqual({
      kind: 'RemoteWorkspace',
      working_dir: join(server.workspaceRoot, 'project'),
      host: server.url,
    });
  });

  it('says it has no shell sessions, with a typed error', async () => {
    expect(workspace.capabilities.shellSessions).toBe(false);
    await expect(workspace.openShell()).rejects.toSatisfy(
      (error) =>
        WorkspaceCapabilityError.isInstance(error) &&
        error.capability === 'persistent shell sessions' &&
        /executeCommand/.test(error.message),
    );
  });

  it('kills the command on the server when its signal aborts', async () => {
    const marker = `ferry-abort-${process.pid}-${Date.now()}`;
    const controller = new AbortController();
    const call = workspace.executeCommand(`echo started; exec -a ${marker} sleep 600`, {
      timeout: 600,
      signal: controller.signal,
      onOutput: (chunk) => {
        if (chunk.text.includes('started')) controller.abort();
      },
    });
    await expect(call).rejects.toMatchObject({ name: 'AbortError' });
    // `[f]` keeps the pattern from matching the shell that runs pgrep.
    const left = await workspace.executeCommand(`pgrep -f '[f]${marker.slice(1)}' || echo none`);
    expect(left.stdout.trim()).toBe('none');
  });

  it('refuses a request without the API key as a RemoteServerError with status 401', async () => {
    const anonymous = new RemoteWorkspace({ host: server.url, workingDir: workspace.workingDir });
    await expect(anonymous.executeCommand('true')).rejects.toSatisfy(
      (error) => RemoteServerError.isInstance(error) && error.status === 401,
    );
  });

  it('reports an unreachable server as RemoteServerError', async () => {
    await using gone = await createTemporaryDirectory();
    const stopped = await startServer({ port: 0, dataDir: gone.path });
    const url = stopped.url;
    await stopped.close();
    const unreachable = new RemoteWorkspace({ host: url, workingDir: '/work', timeout: 5 });
    await expect(unreachable.serverInfo()).rejects.toThrow(RemoteServerError);
  });

  it('rejects a host that is not a URL, and a relative working directory, with a hint', () => {
    expect(() => new RemoteWorkspace({ host: 'localhost:8000', workingDir: '/' })).toThrow(
      /is not an http\(s\) URL/,
    );
    expect(() => new RemoteWorkspace({ host: 'http://127.0.0.1:1', workingDir: 'work' })).toThrow(
      /must be an absolute path/,
    );
  });
});
