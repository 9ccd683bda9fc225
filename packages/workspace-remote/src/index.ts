/**
 * `@ferry/workspace-remote`: a Ferry server as a workspace ({@link RemoteWorkspace}), its
 * conversations ({@link RemoteConversation}), and {@link teleport}, which moves a conversation
 * between this machine and a server, both ways, keeping its id and its whole history.
 *
 * @packageDocumentation
 */
export { RemoteConversation } from './conversation/index';
export type {
  AttachRemoteConversationOptions,
  CreateRemoteConversationOptions,
  RemoteAgentPlan,
  RemoteConversationOptions,
  ReconnectOptions,
} from './conversation/index';
export { RemoteServerError, WorkspaceCapabilityError } from './errors/index';
export { teleport } from './teleport/index';
export type { LocalDestination, TeleportOptions, TeleportProgress } from './teleport/index';
export { RemoteWorkspace } from './workspace/index';
export type {
  RemoteServerInfo,
  RemoteWorkspaceDescriptor,
  RemoteWorkspaceOptions,
} from './workspace/index';
