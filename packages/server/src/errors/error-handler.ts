import { FerryError } from '@ferry/sdk-core';
import type { FastifyError, FastifyInstance, FastifyReply } from 'fastify';
import { hasZodFastifySchemaValidationErrors } from 'fastify-type-provider-zod';
import type { ErrorResponse, ValidationIssue } from '../schemas/common-schemas';
import { httpStatusOf, retryAfterOf, storageErrorOf } from './http-status';

/**
 * The JSON answer of a Ferry error: its `toJSON()` plus `detail`, the message (OpenHands clients
 * read `detail`), unless the error gives its own.
 */
export function ferryErrorBody(error: FerryError): ErrorResponse {
  return { detail: error.message, ...error.toJSON() };
}

/** Sends a Ferry error with the status of the table (and `Retry-After` when the disk refused a write). */
export function sendFerryError(reply: FastifyReply, error: FerryError): FastifyReply {
  const retryAfter = retryAfterOf(error);
  if (retryAfter !== undefined) reply.header('retry-after', String(retryAfter));
  return reply.code(httpStatusOf(error)).send(ferryErrorBody(error));
}

function validationIssues(
  context: string | undefined,
  validation: readonly { instancePath: string; message?: string; keyword: string }[],
): ValidationIssue[] {
  return validation.map((issue) => ({
    loc: [
      context ?? 'body',
      ...issue.instancePath
        .split('/')
        .filter((part) => part !== '')
        .map((part) => (/^\d+$/.test(part) ? Number(part) : part)),
    ],
    msg: issue.message ?? 'invalid',
    type: issue.keyword,
  }));
}

/** Fastify's own client errors (bad JSON, body too large, wrong content type) by their code. */
const FASTIFY_CODES: Readonly<Record<string, { code: string; detail: string }>> = {
  FST_ERR_CTP_INVALID_JSON_BODY: { code: 'INVALID_JSON', detail: 'The body is not valid JSON.' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { code: 'INVALID_JSON', detail: 'The JSON body is empty.' },
  FST_ERR_CTP_BODY_TOO_LARGE: {
    code: 'BODY_TOO_LARGE',
    detail: 'The body is larger than this server accepts.',
  },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    code: 'UNSUPPORTED_MEDIA_TYPE',
    detail: 'This route does not accept that Content-Type.',
  },
};

/**
 * Answers every error the same way: validation problems as 422 with field paths, Ferry errors
 * with the status of the one table, a raw disk failure of the server's data (EROFS, ENOSPC,
 * EIO, ...) as 503 `STORAGE_UNAVAILABLE`, Fastify's client errors with their status, anything
 * else as a 500 whose details stay in the log. Messages never echo request bodies.
 */
export function installErrorHandlers(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError | FerryError | Error, request, reply) => {
    if (hasZodFastifySchemaValidationErrors(error)) {
      const detail = validationIssues(error.validationContext, error.validation);
      return reply.code(422).send({ code: 'VALIDATION_ERROR', detail } satisfies ErrorResponse);
    }
    const ferryError = FerryError.isInstance(error) ? error : storageErrorOf(error);
    if (ferryError !== undefined) {
      if (httpStatusOf(ferryError) >= 500) request.log.error({ err: error }, 'request failed');
      return sendFerryError(reply, ferryError);
    }
    if (error instanceof SyntaxError) {
      // JSON.parse messages quote the body, which may hold a key: never send them back.
      return reply.code(400).send({
        code: 'INVALID_JSON',
        detail: 'The body is not valid JSON.',
      } satisfies ErrorResponse);
    }
    const fastifyError = error as FastifyError;
    const known = fastifyError.code === undefined ? undefined : FASTIFY_CODES[fastifyError.code];
    if (known !== undefined) {
      return reply.code(fastifyError.statusCode ?? 400).send(known satisfies ErrorResponse);
    }
    if (fastifyError.statusCode !== undefined && fastifyError.statusCode < 500) {
      return reply.code(fastifyError.statusCode).send({
        code: fastifyError.code ?? 'BAD_REQUEST',
        detail: fastifyError.message,
      } satisfies ErrorResponse);
    }
    request.log.error({ err: error }, 'request failed');
    return reply
      .code(500)
      .send({ code: 'INTERNAL_ERROR', detail: 'Internal server error.' } satisfies ErrorResponse);
  });

  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({
      code: 'ROUTE_NOT_FOUND',
      detail: `No route ${request.method} ${request.url.split('?')[0] ?? ''}.`,
    } satisfies ErrorResponse),
  );
}
