import { FerryError } from '@ferry/sdk-core';
import type { FastifyInstance } from 'fastify';

/**
 * JSON bodies as Fastify parses them (prototype poisoning refused), except that an empty body
 * is no body: OpenHands clients POST `/run`, `/pause`, ... with a JSON content type and nothing
 * in it. A parse error never echoes the body (it may hold a key).
 */
export function installJsonBodyParser(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser('error', 'error');
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, body, done) => {
    const text = typeof body === 'string' ? body : body.toString('utf8');
    if (text.trim() === '') {
      done(null, undefined);
      return;
    }
    void parse(request, text, (error, value) => {
      if (error === null) done(null, value);
      else done(new FerryError('INVALID_JSON', 'The body is not valid JSON.'), undefined);
    });
  });
}
