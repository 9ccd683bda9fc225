export { DEFAULT_TEST_DATABASE_URL, startTestPostgres } from './postgres-server';
export type { StartTestPostgresOptions, TestPostgresServer } from './postgres-server';
export { createTestDatabase } from './test-database';
export type { TestDatabase } from './test-database';
