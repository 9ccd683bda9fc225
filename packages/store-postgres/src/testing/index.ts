export {
  DEFAULT_TEST_DATABASE_URL,
  startTestPostgres,
  startThrowawayPostgres,
} from './postgres-server';
export type {
  StartTestPostgresOptions,
  TestPostgresServer,
  ThrowawayPostgresServer,
} from './postgres-server';
export { createTestDatabase } from './test-database';
export type { TestDatabase } from './test-database';
export { serverTestStore, testStoreKind } from './server-test-store';
export type { ServerTestStore } from './server-test-store';
