/**
 * `@ferry/workspace-local`: {@link LocalWorkspace}, the host's shell, files and git.
 *
 * @packageDocumentation
 */
export { LocalWorkspace, PathOutsideWorkspaceError } from './local-workspace';
export type { LocalWorkspaceOptions } from './local-workspace';
