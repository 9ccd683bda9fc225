export { RemoteServerError } from './remote-server-error';
export { WorkspaceCapabilityError } from './workspace-capability-error';
