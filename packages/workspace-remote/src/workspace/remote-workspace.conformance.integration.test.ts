import { startServer } from '@ferry/server';
import { createTemporaryDirectory } from '@ferry/sdk-core/testing';
import { describeWorkspaceConformance } from '@ferry/sdk-core/testing/conformance';
import { join } from 'node:path';
import { RemoteWorkspace } from './remote-workspace';

const API_KEY = 'conformance-key';

describeWorkspaceConformance({
  name: 'RemoteWorkspace',
  // The server's HTTP API has no persistent shell sessions; everything else is there.
  capabilities: { shellSessions: false, shellInput: false, symlinks: true, git: true },
  create: async () => {
    const directory = await createTemporaryDirectory({ prefix: 'ferry-remote-workspace-' });
    const server = await startServer({
      host: '127.0.0.1',
      port: 0,
      dataDir: join(directory.path, 'data'),
      workspaceRoot: join(directory.path, 'root'),
      apiKey: API_KEY,
    });
    const workspace = new RemoteWorkspace({
      host: server.url,
      apiKey: API_KEY,
      // A folder inside the server's root, so the suite's "outside" sibling is inside the
      // root: the confinement seen is the workspace's own, not only the server's.
      workingDir: join(server.workspaceRoot, 'work'),
    });
    return {
      workspace,
      cleanup: async () => {
        await workspace.close();
        await server.close();
        await directory.remove();
      },
    };
  },
});
