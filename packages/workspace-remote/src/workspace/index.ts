export { RemoteWorkspace } from './remote-workspace';
export type {
  RemoteServerInfo,
  RemoteWorkspaceDescriptor,
  RemoteWorkspaceOptions,
} from './remote-workspace';
