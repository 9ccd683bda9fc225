export { RemoteConversation, closeAsDeparted } from './remote-conversation';
export type {
  AttachRemoteConversationOptions,
  CreateRemoteConversationOptions,
  RemoteAgentPlan,
  RemoteConversationOptions,
} from './remote-conversation';
export type { ReconnectOptions } from './event-socket';
