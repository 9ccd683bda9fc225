import {
  AgentKindMismatchError,
  BundleBaseMismatchError,
  BundleConflictError,
  BundleFormatError,
  BundleSecurityError,
  BundleTooLargeError,
  ConversationRunningError,
  ConversationTeleportedError,
  PathOutsideWorkspaceError,
  ToolsRemovedError,
  WorkspaceFileError,
  WorkspaceGitError,
  type FerryError,
  type WorkspaceFileErrorReason,
} from '@ferry/sdk-core';
import { RemoteServerError } from '../errors/remote-server-error';

/** A server's error answer: `{ code, detail, message?, ...details }` (see the server's README). */
type ErrorBody = Record<string, unknown>;

const FILE_ERROR_REASONS = new Set<string>([
  'not_found',
  'is_a_directory',
  'not_a_directory',
  'permission_denied',
  'other',
]);

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function texts(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item) => typeof item === 'string') : [];
}

/** The first `planResume` problem of a `PUT .../agent` answer (`problems`, or `plan.problems`). */
function planProblem(body: ErrorBody): ErrorBody | undefined {
  const plan = body.plan;
  const problems =
    typeof plan === 'object' && plan !== null
      ? (plan as { problems?: unknown }).problems
      : body.problems;
  const first: unknown = Array.isArray(problems) ? problems[0] : undefined;
  return typeof first === 'object' && first !== null ? (first as ErrorBody) : undefined;
}

/**
 * Turns a Ferry server's error answer back into the typed Ferry error it was made from, so a
 * remote call fails like the local one would (`ToolsRemovedError`, `PathOutsideWorkspaceError`,
 * ...). Anything else is a {@link RemoteServerError} with the status and the server's code.
 */
export function errorFromResponse(options: {
  status: number;
  body: unknown;
  what: string;
  host: string;
  /** Fills in what the answer may leave out (the conversation id, the path asked about). */
  context?: { conversationId?: string; path?: string; operation?: string };
}): FerryError {
  const { status, what, host, context = {} } = options;
  const body: ErrorBody =
    typeof options.body === 'object' && options.body !== null && !Array.isArray(options.body)
      ? (options.body as ErrorBody)
      : {};
  const problem = planProblem(body);
  const code = text(body.code) ?? text(problem?.code);
  const conversationId = text(body.conversation_id) ?? context.conversationId ?? 'unknown';
  switch (code) {
    case 'TOOLS_REMOVED':
      return new ToolsRemovedError(texts(body.removed ?? problem?.removed));
    case 'AGENT_KIND_MISMATCH':
      return new AgentKindMismatchError(
        text(body.persisted ?? problem?.persisted) ?? 'unknown',
        text(body.runtime ?? problem?.runtime) ?? 'unknown',
      );
    case 'CONVERSATION_RUNNING':
      return new ConversationRunningError(
        conversationId,
        text(body.operation) ?? context.operation ?? what,
      );
    case 'CONVERSATION_TELEPORTED':
      return new ConversationTeleportedError(
        conversationId,
        text(body.to) ?? 'another place',
        text(body.at),
      );
    case 'PATH_OUTSIDE_WORKSPACE':
      return new PathOutsideWorkspaceError(
        context.path ?? text(body.path) ?? 'unknown',
        texts(body.allowed_roots),
      );
    case 'WORKSPACE_FILE_ERROR':
      return new WorkspaceFileError(
        text(body.operation) ?? context.operation ?? what,
        context.path ?? text(body.path) ?? 'unknown',
        fileErrorReason(status, body),
      );
    case 'WORKSPACE_GIT_ERROR':
      return new WorkspaceGitError(
        context.path ?? text(body.path) ?? 'unknown',
        text(body.detail) ?? text(body.message) ?? 'git failed on the server',
      );
    case 'BUNDLE_CONFLICT':
      return new BundleConflictError({
        conversationId,
        location: `${host} (${text(body.location) ?? 'server'})`,
        files: texts(body.files),
      });
    case 'BUNDLE_BASE_MISMATCH':
      return new BundleBaseMismatchError({
        conversationId,
        problem: `${host} answered: ${text(body.problem) ?? text(body.detail) ?? 'its copy is not the base'}`,
      });
    case 'BUNDLE_INVALID':
      return new BundleFormatError({
        problem: text(body.problem) ?? text(body.detail) ?? 'refused by the server',
        ...(text(body.entry) === undefined ? {} : { entry: text(body.entry) }),
      });
    case 'BUNDLE_UNSAFE':
      return new BundleSecurityError({
        reason: text(body.reason) ?? 'was refused by the server',
        ...(text(body.entry) === undefined ? {} : { entry: text(body.entry) }),
      });
    case 'BUNDLE_TOO_LARGE':
      return new BundleTooLargeError({
        subject: text(body.subject) ?? 'bundle',
        size: typeof body.size === 'number' ? body.size : 0,
        limit: typeof body.limit === 'number' ? body.limit : 0,
        option: text(body.option) ?? 'the server limit',
      });
    default: {
      const detail = text(body.detail) ?? text(body.message) ?? describeDetail(body.detail);
      return new RemoteServerError(
        `Ferry server at ${host} answered ${status} to ${what}${detail === undefined ? '' : `: ${detail}`}`,
        status,
        code === undefined ? {} : { serverCode: code },
      );
    }
  }
}

/**
 * The reason of a `WorkspaceFileError` answer: its `reason` field when the server sends it,
 * else what its status and message say (the workspace routes answer `{ code, detail }` only).
 */
function fileErrorReason(status: number, body: ErrorBody): WorkspaceFileErrorReason {
  const reason = text(body.reason);
  if (reason !== undefined && FILE_ERROR_REASONS.has(reason)) {
    return reason as WorkspaceFileErrorReason;
  }
  const message = text(body.detail) ?? text(body.message) ?? '';
  if (status === 404 || message.includes('does not exist')) return 'not_found';
  if (message.includes('is a directory')) return 'is_a_directory';
  if (message.includes('is not a directory')) return 'not_a_directory';
  if (status === 403 || message.includes('permission denied')) return 'permission_denied';
  return 'other';
}

/** Validation problems (`[{ loc, msg }]`) in one line. */
function describeDetail(detail: unknown): string | undefined {
  if (!Array.isArray(detail)) return undefined;
  return detail
    .map((issue: unknown) => {
      if (typeof issue !== 'object' || issue === null) return String(issue);
      const { loc, msg } = issue as { loc?: unknown; msg?: unknown };
      return `${Array.isArray(loc) ? loc.join('.') : ''}: ${String(msg)}`;
    })
    .join('; ');
}
