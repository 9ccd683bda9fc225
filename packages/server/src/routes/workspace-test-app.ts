import Fastify from 'fastify';
import type { FastifyInstance } from 'fastify';
import { serializerCompiler, validatorCompiler } from 'fastify-type-provider-zod';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { installErrorHandlers } from '../errors/error-handler';
import type { BashRoutesOptions } from './bash';
import type { FileRoutesOptions } from './file';
import type { GitRoutesOptions } from './git';

/** Options that fit every workspace plugin. */
export type RoutesOptions = BashRoutesOptions & FileRoutesOptions & GitRoutesOptions;

/** One of the workspace plugins. */
export type RoutesPlugin = (app: FastifyInstance, options: RoutesOptions) => Promise<void>;

/**
 * A Fastify instance for tests, with zod validation and the error answers as the server sets
 * them up (one status table, validation errors as 422), and the given workspace plugins
 * registered. Close it after the test.
 */
export async function createRoutesApp(
  options: RoutesOptions,
  ...plugins: readonly RoutesPlugin[]
): Promise<FastifyInstance> {
  const app = Fastify().withTypeProvider<ZodTypeProvider>();
  app.setValidatorCompiler(validatorCompiler);
  app.setSerializerCompiler(serializerCompiler);
  installErrorHandlers(app);
  for (const plugin of plugins) await app.register(plugin, options);
  await app.ready();
  return app;
}
