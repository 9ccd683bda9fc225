import type {} from '@fastify/swagger';
import { createDefaultToolRegistry, type ToolDefinition } from '@ferry/sdk-core';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';

/** Options of {@link toolRoutes}. */
export interface ToolRoutesOptions {
  /** Tools agents may reference besides the built-in ones. */
  tools?: readonly ToolDefinition[] | undefined;
}

/** OpenHands' `GET /api/tools/`: the names of the tools an agent may reference. */
export function toolRoutes(app: FastifyInstance, options: ToolRoutesOptions): void {
  const names = createDefaultToolRegistry().with(options.tools ?? []).names;
  const routes = app.withTypeProvider<ZodTypeProvider>();
  // FastAPI redirects `/api/tools` to `/api/tools/`; both answer here.
  for (const url of ['/api/tools/', '/api/tools']) {
    routes.get(
      url,
      {
        schema: {
          hide: url === '/api/tools',
          tags: ['Tools'],
          summary: 'The tools an agent may reference by name',
          description:
            "Ferry's built-in tools and those the server was started with. OpenHands lists its " +
            'own registry (browser, Gemini and planning tools included).',
          response: { 200: z.array(z.string()) },
        },
      },
      () => names,
    );
  }
}
