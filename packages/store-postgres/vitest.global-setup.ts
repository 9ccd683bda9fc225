import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { startTestPostgres } from './src/testing/index';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A superuser URL of the PostgreSQL server the tests use. */
    postgresServerUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const server = await startTestPostgres();
  project.provide('postgresServerUrl', server.url);
  return () => server.stop();
}
