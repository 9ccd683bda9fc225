/**
 * Conformance suites: vitest tests that every implementation of a Ferry seam must pass. Unlike
 * `@ferry/sdk-core/testing`, this entry imports `vitest` (an optional peer dependency), so load
 * it only from test files run by vitest.
 *
 * @packageDocumentation
 */
export { describeWorkspaceConformance } from './workspace-conformance';
export type { ConformanceWorkspace, WorkspaceConformanceOptions } from './workspace-conformance';
