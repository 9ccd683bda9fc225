import { FerryError } from '@ferry/sdk-core';

/**
 * The one table from Ferry error codes to HTTP statuses. A code not listed is a server fault
 * (500). `WORKSPACE_FILE_ERROR` depends on its `reason`, see {@link httpStatusOf}.
 */
export const HTTP_STATUS_BY_CODE: Readonly<Record<string, number>> = {
  // The request is malformed.
  INVALID_JSON: 400,
  SETTINGS_UPDATE_EMPTY: 400,
  INVALID_CONVERSATION_ID: 400,
  INVALID_ARGUMENT: 400,
  FILE_EDITOR_REFUSED: 400,
  UPLOAD_FILE_MISSING: 400,
  GIT_REF_WITH_COMMIT: 400,
  GIT_REVISION_NOT_FOUND: 400,
  NOT_A_GIT_REPOSITORY: 400,
  // Authentication.
  UNAUTHORIZED: 401,
  AUTH_RATE_LIMITED: 429,
  // Confinement.
  PATH_OUTSIDE_WORKSPACE: 403,
  // Unknown things.
  CONVERSATION_NOT_FOUND: 404,
  EVENT_NOT_FOUND: 404,
  ROUTE_NOT_FOUND: 404,
  BASH_EVENT_NOT_FOUND: 404,
  PROFILE_NOT_FOUND: 404,
  SECRET_NOT_FOUND: 404,
  // The conversation is in a state that forbids the operation.
  CONVERSATION_LOCKED: 409,
  CONVERSATION_RUNNING: 409,
  CONVERSATION_NOT_RUNNING: 409,
  CONVERSATION_TELEPORTED: 409,
  CONVERSATION_EXISTS: 409,
  CONVERSATION_CLOSED: 409,
  CONVERSATION_ID_MISMATCH: 409,
  DUPLICATE_EVENT_ID: 409,
  NOT_WAITING_FOR_CONFIRMATION: 409,
  SHELL_SESSION_ERROR: 409,
  BUNDLE_CONFLICT: 409,
  BUNDLE_SOURCE_CHANGED: 409,
  BUNDLE_BASE_MISMATCH: 409,
  SECRET_KEY_REQUIRED: 409,
  PROFILE_LIMIT_REACHED: 409,
  SETTINGS_CORRUPT: 409,
  PROFILE_EXISTS: 409,
  // Too big.
  BODY_TOO_LARGE: 413,
  BUNDLE_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  // Well-formed but not acceptable.
  VALIDATION_ERROR: 422,
  SETTINGS_INVALID: 422,
  MESSAGE_ROLE_NOT_SUPPORTED: 422,
  AGENT_KIND_MISMATCH: 422,
  UNSUPPORTED_KIND: 422,
  TOOLS_REMOVED: 422,
  AGENT_REQUIRED: 422,
  INVALID_EVENT: 422,
  INVALID_EVENT_ENVELOPE: 422,
  UNKNOWN_TOOL: 422,
  LLM_CONFIGURATION: 422,
  LLM_CREDENTIALS_MISSING: 422,
  LLM_CONTEXT_WINDOW_EXCEEDED: 422,
  WORKSPACE_GIT_ERROR: 422,
  BUNDLE_INVALID: 422,
  BUNDLE_UNSAFE: 422,
  BUNDLE_RESERVED_PATH: 422,
  BUNDLE_UNSUPPORTED_PATH: 422,
  // The LLM provider failed (the server is a gateway to it).
  LLM_AUTHENTICATION: 502,
  LLM_PROVIDER_ERROR: 502,
  LLM_ABORTED: 502,
  LLM_RATE_LIMIT: 429,
  LLM_TIMEOUT: 504,
  // Another Ferry server (a teleport's destination) refused or could not be reached.
  TELEPORT_DESTINATION_REFUSED: 502,
  TELEPORT_DESTINATION_UNREACHABLE: 502,
  TELEPORT_INCOMPLETE: 502,
  // The server is stopping.
  SERVER_SHUTTING_DOWN: 503,
  SANDBOX_UNAVAILABLE: 503,
  // The server's disk refuses writes (read-only, full, failing): retry once it is fixed.
  STORAGE_UNAVAILABLE: 503,
  POSTGRES_UNAVAILABLE: 503,
  POSTGRES_CONNECTION_LOST: 503,
  OWNER_UNREACHABLE: 503,
  CONVERSATION_MOVING: 503,
  EVENT_LOG_WRITE_FAILED: 503,
  STATE_WRITE_FAILED: 503,
  BUNDLE_IMPORT_FAILED: 503,
  // The server's own data is damaged.
  BUNDLE_IMPORT_INTERRUPTED: 500,
  CORRUPT_EVENT_LOG: 500,
  INVALID_STATE_DOCUMENT: 500,
};

const FILE_ERROR_STATUS: Readonly<Record<string, number>> = {
  not_found: 404,
  is_a_directory: 400,
  not_a_directory: 400,
  permission_denied: 403,
  other: 500,
};

/**
 * Codes answered 503 because the server's disk or database refused, or the replica running the
 * conversation did not answer; they carry `Retry-After`.
 */
const STORAGE_CODES: ReadonlySet<string> = new Set([
  'STORAGE_UNAVAILABLE',
  'EVENT_LOG_WRITE_FAILED',
  'STATE_WRITE_FAILED',
  'BUNDLE_IMPORT_FAILED',
  'POSTGRES_UNAVAILABLE',
  'POSTGRES_CONNECTION_LOST',
  'OWNER_UNREACHABLE',
  'CONVERSATION_MOVING',
]);

/** Seconds a client should wait before retrying a write the disk refused. */
export const STORAGE_RETRY_AFTER_SECONDS = 5;

/**
 * System error codes meaning the disk holding the server's data refuses writes: read-only,
 * full, over quota, failing, or not writable by the server.
 */
const STORAGE_ERRNOS: Readonly<Record<string, string>> = {
  EROFS: 'its data folder is on a read-only file system',
  ENOSPC: 'its disk is full',
  EDQUOT: 'its disk quota is exhausted',
  EIO: 'its disk reports input/output errors',
  EACCES: 'it is not allowed to write its data folder',
  EPERM: 'it is not allowed to write its data folder',
};

/**
 * A raw file system error of the server's own data (one no layer below turned into a Ferry
 * error, e.g. taking a conversation's lock on a read-only disk) as `STORAGE_UNAVAILABLE`, or
 * `undefined` for any other error. The message names the errno, never a path.
 */
export function storageErrorOf(error: unknown): FerryError | undefined {
  if (FerryError.isInstance(error) || !(error instanceof Error)) return undefined;
  const { code, syscall } = error as NodeJS.ErrnoException;
  // A program that cannot be started is not a disk failure.
  if (syscall === undefined || syscall.startsWith('spawn')) return undefined;
  const reason = code === undefined ? undefined : STORAGE_ERRNOS[code];
  if (reason === undefined) return undefined;
  return new FerryError(
    'STORAGE_UNAVAILABLE',
    `The server cannot write its data (${code}): ${reason}. Reads still work; retry once the disk is writable again.`,
    { cause: error },
  );
}

/** Seconds for the `Retry-After` header of an answer to `error`, or `undefined` for none. */
export function retryAfterOf(error: FerryError): number | undefined {
  return STORAGE_CODES.has(error.code) ? STORAGE_RETRY_AFTER_SECONDS : undefined;
}

/** The HTTP status answering a Ferry error. */
export function httpStatusOf(error: FerryError): number {
  if (error.code === 'WORKSPACE_FILE_ERROR') {
    const reason = (error as FerryError & { reason?: unknown }).reason;
    return (typeof reason === 'string' ? FILE_ERROR_STATUS[reason] : undefined) ?? 500;
  }
  return HTTP_STATUS_BY_CODE[error.code] ?? 500;
}

/** Errors the server raises itself, as Ferry errors so one table maps them. */
export const serverErrors = {
  conversationNotFound: (id: string) =>
    new FerryError(
      'CONVERSATION_NOT_FOUND',
      `No conversation ${id} on this server. List them with GET /api/conversations/search.`,
    ),
  eventNotFound: (conversationId: string, eventId: string) =>
    new FerryError('EVENT_NOT_FOUND', `No event ${eventId} in conversation ${conversationId}.`),
  unauthorized: () =>
    new FerryError(
      'UNAUTHORIZED',
      'This server needs an API key: send it in the X-Session-API-Key header.',
    ),
  uploadFileMissing: () =>
    new FerryError(
      'UPLOAD_FILE_MISSING',
      'Send the file as multipart/form-data, in a field named "file".',
    ),
  gitRefWithCommit: () =>
    new FerryError(
      'GIT_REF_WITH_COMMIT',
      'Give either ref (compare with it) or commit (what that commit changed), not both.',
    ),
  notARepository: (path: string) =>
    new FerryError('NOT_A_GIT_REPOSITORY', `"${path}" is not inside a git repository.`),
  bashEventNotFound: (id: string) =>
    new FerryError('BASH_EVENT_NOT_FOUND', `No bash event has the id "${id}".`),
  messageRoleNotSupported: (role: string) =>
    new FerryError(
      'MESSAGE_ROLE_NOT_SUPPORTED',
      `Only user messages are allowed to be sent to the agent (this one has role "${role}").`,
    ),
};
