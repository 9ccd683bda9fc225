import { FerryError, WorkspaceFileError } from '@ferry/sdk-core';
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';

/**
 * HTTP status of each error code the workspace routes answer. A `WORKSPACE_FILE_ERROR` whose
 * reason is `not_found` answers 404 instead (see {@link workspaceErrorStatus}).
 */
export const WORKSPACE_ERROR_STATUS: Readonly<Record<string, number>> = {
  PATH_OUTSIDE_WORKSPACE: 403,
  WORKSPACE_FILE_ERROR: 400,
  WORKSPACE_GIT_ERROR: 400,
  UPLOAD_FILE_MISSING: 400,
  GIT_OPTION_NOT_SUPPORTED: 400,
  BASH_EVENT_NOT_FOUND: 404,
};

/** The JSON body of an error answered by the workspace routes. */
export const routeErrorSchema = z.object({
  detail: z.string().describe('What went wrong, for a person.'),
  code: z.string().describe('Stable machine-readable code, e.g. `PATH_OUTSIDE_WORKSPACE`.'),
});
export type RouteError = z.infer<typeof routeErrorSchema>;

/** Errors the workspace routes raise themselves, as Ferry errors so the table maps them. */
export const workspaceRouteErrors = {
  uploadFileMissing: () =>
    new FerryError(
      'UPLOAD_FILE_MISSING',
      'Send the file as multipart/form-data, in a field named "file".',
    ),
  gitOptionNotSupported: (name: string, value: string) =>
    new FerryError(
      'GIT_OPTION_NOT_SUPPORTED',
      `Ferry compares with HEAD only; ${name} "${value}" is not supported.`,
    ),
  bashEventNotFound: (id: string) =>
    new FerryError('BASH_EVENT_NOT_FOUND', `No bash event has the id "${id}".`),
};

/** The HTTP status for an error of the workspace routes, or `undefined` for any other error. */
export function workspaceErrorStatus(error: unknown): number | undefined {
  if (!FerryError.isInstance(error)) return undefined;
  if (WorkspaceFileError.isInstance(error) && error.reason === 'not_found') return 404;
  return WORKSPACE_ERROR_STATUS[error.code];
}

/**
 * Error handler of the workspace plugins: answers the errors of the table above with
 * `{ detail, code }` and rethrows everything else, which hands it to the enclosing server's
 * error handler (validation errors, 413, ...).
 */
export function workspaceErrorHandler(
  error: FastifyError,
  _request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  const status = workspaceErrorStatus(error);
  if (status === undefined) throw error;
  const body: RouteError = { detail: error.message, code: error.code };
  return reply.code(status).type('application/json; charset=utf-8').send(body);
}
