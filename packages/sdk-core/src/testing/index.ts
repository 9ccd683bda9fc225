/**
 * Test kit for Ferry users and Ferry's own tests.
 *
 * @packageDocumentation
 */
export { createTemporaryDirectory } from './temporary-directory';
export type { TemporaryDirectory } from './temporary-directory';
