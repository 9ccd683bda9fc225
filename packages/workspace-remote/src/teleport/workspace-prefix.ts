/** Where a bundle keeps the workspace's files (the manifest lists them under this prefix). */
export const WORKSPACE_FILE_PREFIX = 'workspace/';
