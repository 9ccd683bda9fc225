import type { ToolContext, ToolResult } from './tool-definition';

/**
 * The error result of a tool that needs a full `Workspace` when the conversation was given
 * only a `{ kind, workingDir }` description.
 */
export function missingWorkspaceResult(
  toolName: string,
  workspace: ToolContext['workspace'],
  fields: Record<string, unknown> = {},
): ToolResult {
  const error =
    `The ${toolName} tool needs a full Workspace such as LocalWorkspace, but this conversation ` +
    `was given only a description of one (kind "${workspace.kind}", working directory ` +
    `"${workspace.workingDir}"). Open the conversation with a workspace object, e.g. ` +
    '`new LocalWorkspace({ workingDir })` from @ferry/workspace-local.';
  return { isError: true, content: error, fields: { ...fields, error } };
}
