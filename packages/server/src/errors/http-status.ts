import { FerryError } from '@ferry/sdk-core';

/**
 * The one table from Ferry error codes to HTTP statuses. A code not listed is a server fault
 * (500). `WORKSPACE_FILE_ERROR` depends on its `reason`, see {@link httpStatusOf}.
 */
export const HTTP_STATUS_BY_CODE: Readonly<Record<string, number>> = {
  // The request is malformed.
  INVALID_JSON: 400,
  INVALID_CONVERSATION_ID: 400,
  INVALID_ARGUMENT: 400,
  FILE_EDITOR_REFUSED: 400,
  UPLOAD_FILE_MISSING: 400,
  GIT_OPTION_NOT_SUPPORTED: 400,
  // Authentication.
  UNAUTHORIZED: 401,
  // Confinement.
  PATH_OUTSIDE_WORKSPACE: 403,
  // Unknown things.
  CONVERSATION_NOT_FOUND: 404,
  EVENT_NOT_FOUND: 404,
  ROUTE_NOT_FOUND: 404,
  BASH_EVENT_NOT_FOUND: 404,
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
  // Too big.
  BODY_TOO_LARGE: 413,
  BUNDLE_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  // Well-formed but not acceptable.
  VALIDATION_ERROR: 422,
  AGENT_KIND_MISMATCH: 422,
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
  // The server is stopping.
  SERVER_SHUTTING_DOWN: 503,
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
};
