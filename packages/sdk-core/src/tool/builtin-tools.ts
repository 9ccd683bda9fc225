import { fileEditorTool } from './file-editor-tool';
import { finishTool } from './finish-tool';
import { taskTrackerTool } from './task-tracker-tool';
import { terminalTool } from './terminal-tool';
import { thinkTool } from './think-tool';
import type { ToolDefinition } from './tool-definition';
import { ToolRegistry } from './tool-registry';

/**
 * The tools of `@ferry/sdk-core`: `finish`, `think`, `task_tracker`, and `terminal` and
 * `file_editor`, which need a full `Workspace` (they check it when called).
 */
export const builtinTools: readonly ToolDefinition[] = [
  finishTool,
  thinkTool,
  taskTrackerTool,
  terminalTool,
  fileEditorTool,
];

/** A registry of the built-in tools, to extend with your own. */
export function createDefaultToolRegistry(): ToolRegistry {
  return new ToolRegistry(builtinTools);
}

/**
 * The tools a conversation may use: `tools` when it is a registry, otherwise the built-ins
 * extended with `tools` (the `tools` option of `LocalConversation.open`).
 */
export function toolRegistryFor(
  tools: readonly ToolDefinition[] | ToolRegistry | undefined,
): ToolRegistry {
  return tools instanceof ToolRegistry ? tools : createDefaultToolRegistry().with(tools ?? []);
}
