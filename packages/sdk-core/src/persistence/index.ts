export type {
  DigestOptions,
  DurabilityOptions,
  FileStore,
  FileStoreEntry,
  FileStoreStats,
  RemoveOptions,
} from './file-store';
export type { FileDigest } from './file-digests';
export { LocalFileStore } from './local-file-store';
export type { LocalFileStoreOptions } from './local-file-store';
export { InMemoryFileStore } from './in-memory-file-store';
export type { InMemoryFileStoreOptions } from './in-memory-file-store';
export { formatJson, readJson, writeJsonAtomic } from './json-file';
export { isStoredEvent, storedEventProblem } from './stored-event';
export type { StoredEvent } from './stored-event';
export { DEFAULT_SEGMENT_MAX_BYTES, EventLog } from './event-log';
export type { EventLogOptions, EventLogPage } from './event-log';
export { segmentName, segmentNumber } from './event-log-segment';
export { ConversationLock } from './conversation-lock';
export type { ConversationLockOptions } from './conversation-lock';
// For stores written outside sdk-core, so their side files refuse and fail exactly as these do.
export { joinStorePath, normalizeStorePath, parentStorePath } from './store-path';
export { hasErrorCode, systemError } from './system-error';
