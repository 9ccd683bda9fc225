export { PostgresStore } from './postgres-store';
export type { LeaseHolder } from './postgres-store';
export type { PostgresStoreOptions } from './connection';
export { LATEST_SCHEMA_VERSION } from './migrations';
export * from './errors/index';
export { copyConversation } from './copy-conversation';
export type { CopyConversationOptions, CopyConversationResult } from './copy-conversation';
