import { testStoreKind } from '@ferry/store-postgres/testing';

export { serverTestStore as serverStore } from '@ferry/store-postgres/testing';
export type { ServerTestStore as ServerStore } from '@ferry/store-postgres/testing';

/**
 * Where the server suites that can run on either store keep conversations: files (the default),
 * or PostgreSQL when `FERRY_TEST_STORE=postgres` (the `reliability-postgres` test project runs
 * them again that way).
 */
export const RELIABILITY_STORE = testStoreKind();
