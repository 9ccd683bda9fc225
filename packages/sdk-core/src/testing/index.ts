/**
 * Test kit for Ferry users and Ferry's own tests: the scripted LLM server and helpers that need
 * no test runner (importing this entry never loads `vitest`). The vitest conformance suites live
 * in `@ferry/sdk-core/testing/conformance`.
 *
 * @packageDocumentation
 */
export { createTemporaryDirectory } from './temporary-directory';
export type { TemporaryDirectory } from './temporary-directory';
export { startScriptedLLMServer } from './scripted-llm-server';
export type {
  RespondFunction,
  ScriptedLLMServer,
  ScriptedLLMServerOptions,
} from './scripted-llm-server';
export type { RecordedMessage, RecordedRequest, RecordedTool } from './recorded-request';
export { contextWindowExceeded, httpError, text, toolCall, toolCalls } from './script-turn';
export type {
  HttpErrorOptions,
  HttpErrorTurn,
  ScriptedToolCall,
  ScriptTurn,
  TextOptions,
  TextTurn,
  ToolCallsOptions,
  ToolCallsTurn,
  ToolCallSpec,
  TurnTiming,
  TurnUsage,
} from './script-turn';
export {
  openHandsModelProblems,
  openHandsReferenceModel,
  openHandsReferenceModels,
} from './openhands-reference';
export type { OpenHandsReferenceModel } from './openhands-reference';
