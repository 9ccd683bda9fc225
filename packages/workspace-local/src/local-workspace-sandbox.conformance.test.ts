import { createTemporaryDirectory } from '@ferry/sdk-core/testing';
import { describeWorkspaceConformance } from '@ferry/sdk-core/testing/conformance';
import { join } from 'node:path';
import { LocalWorkspace } from './local-workspace';

// The suite makes its "outside" folder next to the working folder with a command, so the
// sandbox mounts that parent read-write; file operations stay confined to the working folder.
describeWorkspaceConformance({
  name: 'LocalWorkspace (sandboxed)',
  capabilities: { shellSessions: true, shellInput: true, symlinks: true, git: true },
  create: async () => {
    const directory = await createTemporaryDirectory({ prefix: 'ferry-sandbox-workspace-' });
    const workspace = new LocalWorkspace({
      workingDir: join(directory.path, 'work'),
      sandbox: { readWrite: [directory.path] },
    });
    return {
      workspace,
      cleanup: async () => {
        await workspace.close();
        await directory.remove();
      },
    };
  },
});
