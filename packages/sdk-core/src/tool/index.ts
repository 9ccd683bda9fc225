export { builtinTools, createDefaultToolRegistry } from './builtin-tools';
export {
  DEFAULT_FILE_EDITOR_MAX_FILE_BYTES,
  DEFAULT_FILE_EDITOR_MAX_OUTPUT_CHARS,
  createFileEditorTool,
  fileEditorCommandSchema,
  fileEditorParametersSchema,
  fileEditorTool,
} from './file-editor-tool';
export type {
  FileEditorCommand,
  FileEditorParameters,
  FileEditorToolOptions,
} from './file-editor-tool';
export {
  DEFAULT_FILE_HISTORY_DEPTH,
  FILE_EDITS_DIR,
  fileEditHistoryPath,
  fileEditHistorySchema,
} from './file-edit-history';
export type { FileEditHistory } from './file-edit-history';
export { finishTool } from './finish-tool';
export { TASKS_FILE, taskItemSchema, taskTrackerTool } from './task-tracker-tool';
export type { TaskItem } from './task-tracker-tool';
export {
  DEFAULT_TERMINAL_MAX_OUTPUT_CHARS,
  DEFAULT_TERMINAL_TIMEOUT_SECONDS,
  OBSERVATIONS_DIR,
  createTerminalTool,
  observationFilePath,
  terminalParametersSchema,
  terminalSessionId,
  terminalTool,
} from './terminal-tool';
export type { TerminalParameters, TerminalToolOptions } from './terminal-tool';
export { thinkTool } from './think-tool';
export { defineTool } from './tool-definition';
export type { ToolContext, ToolDefinition, ToolResult } from './tool-definition';
export { ToolRegistry } from './tool-registry';
export { splitAnnotations, toolCallAnnotationsSchema, toolInputJsonSchema } from './tool-schema';
export type { JsonSchemaObject, ToolCallAnnotations } from './tool-schema';
