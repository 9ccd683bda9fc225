import { createTemporaryDirectory } from '@ferry/sdk-core/testing';
import { describeWorkspaceConformance } from '@ferry/sdk-core/testing/conformance';
import { join } from 'node:path';
import { LocalWorkspace } from './local-workspace';

describeWorkspaceConformance({
  name: 'LocalWorkspace',
  capabilities: { shellSessions: true, shellInput: true, symlinks: true, git: true },
  create: async () => {
    const directory = await createTemporaryDirectory({ prefix: 'ferry-local-workspace-' });
    const workspace = new LocalWorkspace({ workingDir: join(directory.path, 'work') });
    return {
      workspace,
      cleanup: async () => {
        await workspace.close();
        await directory.remove();
      },
    };
  },
});
