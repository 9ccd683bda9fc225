/** The default `maxWorkspaceBytes`: 200 MiB. */
export const DEFAULT_MAX_WORKSPACE_BYTES = 200 * 1024 * 1024;
