/**
 * `@ferry/workspace-remote`: {@link RemoteWorkspace}, a workspace on a Ferry server.
 *
 * @packageDocumentation
 */
export { RemoteServerError, RemoteWorkspace } from './remote-workspace';
export type { RemoteServerInfo, RemoteWorkspaceOptions } from './remote-workspace';
