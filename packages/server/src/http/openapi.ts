import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import {
  createJsonSchemaTransform,
  createJsonSchemaTransformObject,
} from 'fastify-type-provider-zod';
import { API_KEY_HEADER } from '../auth/auth-hook';
import { apiRegistry } from '../schemas/api-registry';

/**
 * The OpenAPI document, generated from the routes' zod schemas, at `/openapi.json`, and a docs
 * page at `/docs`. Register before the routes: the document collects routes as they are added.
 */
export async function registerOpenApi(
  app: FastifyInstance,
  options: { version: string },
): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Ferry agent server',
        description:
          'The core of the OpenHands agent-server protocol, plus Ferry extensions (agent ' +
          'replacement, conversation bundles). Send the API key in X-Session-API-Key.',
        version: options.version,
      },
      components: {
        securitySchemes: {
          SessionApiKey: { type: 'apiKey', in: 'header', name: API_KEY_HEADER },
        },
      },
      security: [{ SessionApiKey: [] }],
    },
    transform: createJsonSchemaTransform({ skipList: [], schemaRegistry: apiRegistry }),
    transformObject: createJsonSchemaTransformObject({ schemaRegistry: apiRegistry }),
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { config: { public: true }, schema: { hide: true } }, () =>
    app.swagger(),
  );
}
