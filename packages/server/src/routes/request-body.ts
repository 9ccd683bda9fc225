import { errorCodes } from 'fastify';
import type { FastifyInstance, FastifyRequest, FastifySchemaValidationError } from 'fastify';
import { validatorCompiler } from 'fastify-type-provider-zod';
import type { z } from 'zod';

/**
 * Lets JSON requests come without a body: OpenHands' client sends
 * `Content-Type: application/json` on every request, bodiless DELETEs included, which
 * Fastify's own parser refuses. Applies to the plugin it is called in.
 */
export function acceptEmptyJsonBodies(app: FastifyInstance): void {
  const parseJson = app.getDefaultJsonParser(
    app.initialConfig.onProtoPoisoning ?? 'error',
    app.initialConfig.onConstructorPoisoning ?? 'error',
  );
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser<string>(
    'application/json',
    { parseAs: 'string' },
    (request, body, done) => {
      if (body === '') done(null, undefined);
      // The default parser answers through `done`, not its return value.
      else void parseJson(request, body, done);
    },
  );
}

/**
 * Reads and validates the JSON body of a GET request, which Fastify never parses (OpenHands
 * declares a few GET routes with a body). Errors are Fastify's own: 413 past `limit` bytes,
 * 400 for invalid JSON or a body that does not match `schema`.
 */
export async function readGetBody<T extends z.ZodType>(
  request: FastifyRequest,
  schema: T,
  limit: number,
): Promise<z.output<T>> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request.raw as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    if (size > limit) throw new errorCodes.FST_ERR_CTP_BODY_TOO_LARGE();
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  let body: unknown;
  try {
    body = text.trim() === '' ? undefined : JSON.parse(text);
  } catch {
    throw new errorCodes.FST_ERR_CTP_INVALID_JSON_BODY();
  }
  return validateBody(schema, body);
}

/**
 * Validates `body` with the zod validator Fastify routes use, so a mismatch raises the same
 * error (issues included) as a route's body schema would, and the server answers it alike.
 */
function validateBody<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  const validate = validatorCompiler({ schema, method: 'GET', url: '', httpPart: 'body' });
  const result = validate(body) as
    { value: z.output<T> } | { error: FastifySchemaValidationError[] };
  if ('value' in result) return result.value;
  const message = result.error
    .map((issue) => `body${issue.instancePath} ${issue.message ?? 'is invalid'}`)
    .join(', ');
  throw Object.assign(new errorCodes.FST_ERR_VALIDATION(message), {
    validation: result.error,
    validationContext: 'body' as const,
  });
}
