/**
 * `@ferry/server`: the Ferry agent server, embeddable with {@link startServer} or run as the
 * `ferry-server` CLI.
 *
 * @packageDocumentation
 */
export { startServer } from './server';
export type { FerryServer, ServerInfo, StartServerOptions } from './server';
export { ConversationManager } from './conversations/conversation-manager';
export type {
  ConversationRecord,
  CreateConversationInput,
  ImportBundleInput,
} from './conversations/conversation-manager';
export type { ConversationBundles } from './conversations/conversation-bundles';
export { HTTP_STATUS_BY_CODE, httpStatusOf } from './errors/http-status';
export { SocketCloseCode } from './sockets/event-socket';
export type { LoggerSetting } from './http/logger-options';
export { startConsole } from './console/start-console';
export type { FerryConsole, StartConsoleOptions } from './console/start-console';
