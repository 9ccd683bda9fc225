/**
 * `@ferry/workspace-local`: {@link LocalWorkspace}, the host's shell, files and git.
 *
 * @packageDocumentation
 */
export { LocalWorkspace } from './local-workspace';
export type { LocalWorkspaceOptions } from './local-workspace';
export type { SandboxOptions } from './sandbox/sandbox-options';
export { checkSandbox, SANDBOX_BASE_ENV } from './sandbox/sandbox';
