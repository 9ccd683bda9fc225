import type { z } from 'zod';
import type { TextContent } from '../event/content';
import type { FileStore } from '../persistence/file-store';

/** What a tool gets besides its arguments when it runs. */
export interface ToolContext {
  /** The conversation the call belongs to. */
  conversationId: string;
  /** The conversation's workspace (a full `Workspace` for tools that run commands or edit files). */
  workspace: { readonly kind: string; readonly workingDir: string };
  /** The conversation's own folder, for side files (e.g. `TASKS.json`, `observations/`). */
  store: FileStore;
  /** Aborted by `interrupt()`: stop work and return or throw promptly. */
  signal: AbortSignal;
  /** The tool call being answered. */
  toolCallId: string;
  /** Replaces known secret values in text with `<secret-hidden>` before it is stored. */
  maskSecrets(text: string): string;
  /**
   * The conversation's secrets `command` mentions by name, as environment variables (see
   * `secretEnvFor`); the terminal exports them into its shell first, as OpenHands does.
   */
  secretEnv?(command: string): Record<string, string>;
}

/** What a tool returns: the observation the LLM will see. */
export interface ToolResult {
  /** Text (or text parts) for the LLM. */
  content: string | TextContent[];
  /** Marks a failed execution; the LLM sees it as an error result. */
  isError?: boolean;
  /** Extra observation fields (snake_case), persisted with the observation. */
  fields?: Record<string, unknown>;
}

/**
 * A tool the agent can call. Parameters are a zod object: they become the JSON schema the LLM
 * sees (plus `security_risk` and `summary`, added for every tool) and validate the arguments.
 * The call is persisted as an action document `{ kind: actionKind, ...arguments }` and its
 * result as an observation `{ kind: observationKind, content, is_error, ...fields }`.
 */
export interface ToolDefinition<Parameters extends z.ZodObject = z.ZodObject> {
  /** Name the LLM calls it by, e.g. `terminal`. */
  name: string;
  description: string;
  parameters: Parameters;
  /** Kind of the action document, e.g. `TerminalAction`. */
  actionKind: string;
  /** Kind of the observation document, e.g. `TerminalObservation`. */
  observationKind: string;
  /** True when the tool ends the run (like `finish`). */
  endsRun?: boolean;
  /** True when executing it changes nothing (never held for confirmation). */
  readOnly?: boolean;
  execute(args: z.infer<Parameters>, context: ToolContext): Promise<ToolResult>;
}

/** Declares a tool with its parameter types inferred from the zod schema. */
export function defineTool<Parameters extends z.ZodObject>(
  definition: ToolDefinition<Parameters>,
): ToolDefinition<Parameters> {
  return definition;
}
