export { commandResultSchema } from './command-result';
export type { CommandResult } from './command-result';
export { DEFAULT_COMMAND_TIMEOUT_SECONDS } from './execute-command-options';
export type { ExecuteCommandOptions } from './execute-command-options';
export { fileEntrySchema, fileStatSchema, fileTypeSchema } from './file-entry';
export type { FileEntry, FileStat, FileType } from './file-entry';
export { gitChangeSchema, gitChangeStatusSchema } from './git-change';
export type { GitChange, GitChangeStatus } from './git-change';
export { gitCommitSchema, gitCommitsPageSchema } from './git-commit';
export type { GitCommit, GitCommitsPage } from './git-commit';
export { gitDiffSchema } from './git-diff';
export type { GitDiff } from './git-diff';
export { isWorkspace } from './is-workspace';
export type { OutputChunk, OutputListener } from './output-chunk';
export { shellRunResultSchema } from './shell-session';
export type {
  OpenShellOptions,
  ShellRunOptions,
  ShellRunResult,
  ShellSession,
} from './shell-session';
export type { Workspace } from './workspace';
export type { WorkspaceCapabilities } from './workspace-capabilities';
export { workspaceDescriptorSchema, workspaceKindSchema } from './workspace-descriptor';
export type { WorkspaceDescriptor, WorkspaceKind } from './workspace-descriptor';
