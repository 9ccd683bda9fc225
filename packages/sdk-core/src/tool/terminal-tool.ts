import { z } from 'zod';
import { FerryError } from '../errors/ferry-error';
import { isWorkspace } from '../workspace/is-workspace';
import type { ShellRunResult } from '../workspace/shell-session';
import { defineTool } from './tool-definition';
import type { ToolContext, ToolResult } from './tool-definition';
import { missingWorkspaceResult } from './tool-workspace';
import { truncateMiddle } from './truncate-middle';

/** Characters of output the LLM sees by default; the middle of a longer output is cut. */
export const DEFAULT_TERMINAL_MAX_OUTPUT_CHARS = 30_000;

/** Seconds a command without a `timeout` runs before the call returns, by default. */
export const DEFAULT_TERMINAL_TIMEOUT_SECONDS = 30;

/** The folder of the conversation's store where full outputs of truncated commands are kept. */
export const OBSERVATIONS_DIR = 'observations';

/** Options of {@link createTerminalTool}. */
export interface TerminalToolOptions {
  /**
   * Characters of output the LLM sees (default {@link DEFAULT_TERMINAL_MAX_OUTPUT_CHARS}). A
   * longer output keeps its start and its end around a marker, and is saved whole under
   * `observations/<tool call id>.txt` in the conversation's folder.
   */
  maxOutputChars?: number;
  /**
   * Seconds a command without a `timeout` argument runs before the call returns (default
   * {@link DEFAULT_TERMINAL_TIMEOUT_SECONDS}). When the workspace's sessions take input, the
   * command keeps running (exit code -1) and the agent waits, types or interrupts with
   * `is_input`; otherwise it is interrupted.
   */
  defaultTimeout?: number;
}

/** The arguments of the `terminal` tool (OpenHands' `TerminalAction`). */
export const terminalParametersSchema = z.object({
  command: z
    .string()
    .describe(
      'The bash command to run. With is_input=true: text to send to the running command, `C-c` ' +
        'to interrupt it, or an empty string to wait for more of its output. Run one command ' +
        'at a time; chain several with `&&` or `;`.',
    ),
  is_input: z
    .boolean()
    .default(false)
    .describe(
      'If true, `command` goes to the command that is still running (exit code -1) instead of ' +
        'starting a new one. Default false.',
    ),
  timeout: z
    .number()
    .positive()
    .optional()
    .describe(
      'Seconds the command may run before it is interrupted. Set it for long commands (installs, ' +
        'test suites) or fixed waits (sleep). Without it, the call returns after a while with ' +
        'the command still running.',
    ),
  reset: z
    .boolean()
    .default(false)
    .describe(
      'If true, kill the shell and start a fresh one in the working directory (then run ' +
        '`command` if it is not empty). Use it only when the terminal stops responding: the ' +
        'working directory, variables and running processes are lost.',
    ),
});
export type TerminalParameters = z.infer<typeof terminalParametersSchema>;

const DESCRIPTION = `Runs a bash command in a persistent shell session.

* Persistent: the working directory, environment variables and shell functions set by one command are there for the next.
* One command at a time. Chain several with \`&&\` or \`;\`. Do not use \`set -e\`: it would end the session on the first failure.
* Long commands: set \`timeout\` (seconds) for installs, builds, test suites and waits; the command is interrupted when it runs out. Without \`timeout\`, the call returns after a while with exit code -1 while the command keeps running: then send \`is_input\` calls (an empty command to wait for more output, text to type into it, \`C-c\` to interrupt it).
* Servers and other endless commands: run them in the background with their output in a file, e.g. \`python3 app.py > server.log 2>&1 &\`.
* Long output is cut in the middle; the note in its place says where the full output is saved.
* \`reset\`: starts a fresh shell when the session is stuck (everything set before is lost).`;

/** The id of the shell session the `terminal` tool uses for a conversation. */
export function terminalSessionId(conversationId: string): string {
  return `terminal-${conversationId}`;
}

/** Where the full output of a tool call is saved in the conversation's store. */
export function observationFilePath(toolCallId: string): string {
  const name = toolCallId.replace(/[^A-Za-z0-9_.-]/g, '_') || 'tool_call';
  return `${OBSERVATIONS_DIR}/${name}.txt`;
}

function seconds(value: number): string {
  return `${value} second${value === 1 ? '' : 's'}`;
}

/** `export NAME='value'; ...` for bash, each value single-quoted. */
function shellExports(env: Readonly<Record<string, string>>): string {
  return Object.entries(env)
    .map(([name, value]) => `export ${name}='${value.replaceAll("'", `'\\''`)}'`)
    .join('; ');
}

function errorResult(command: string, error: string): ToolResult {
  return {
    isError: true,
    content: error,
    fields: { command, exit_code: null, timeout: false, error },
  };
}

/** Why the call cannot run at all, or `undefined`. */
function refusal(
  args: TerminalParameters,
  capabilities: { shellSessions: boolean; shellInput: boolean },
) {
  if (!capabilities.shellSessions) {
    return 'This workspace has no persistent shell sessions, so the terminal tool cannot run here.';
  }
  if (args.reset && args.is_input) {
    return 'reset cannot be combined with is_input: reset the terminal, or send input, not both.';
  }
  if (args.is_input && !capabilities.shellInput) {
    return (
      "This workspace's shell sessions cannot send input to a running command (is_input). Run " +
      'commands that need no input, with a timeout long enough for them to finish.'
    );
  }
  return undefined;
}

/** Creates the `terminal` tool (OpenHands' `TerminalTool`) with its own output bound and timeout. */
export function createTerminalTool(options: TerminalToolOptions = {}) {
  const maxOutputChars = options.maxOutputChars ?? DEFAULT_TERMINAL_MAX_OUTPUT_CHARS;
  const defaultTimeout = options.defaultTimeout ?? DEFAULT_TERMINAL_TIMEOUT_SECONDS;

  /** The observation of a finished (or timed out) run, with the output masked and bounded. */
  async function observe(
    result: ShellRunResult,
    timeout: number,
    prefix: string,
    context: ToolContext,
  ): Promise<ToolResult> {
    const command = context.maskSecrets(result.command);
    const workingDir = context.maskSecrets(result.working_dir);
    // Mask before cutting: a cut through a secret would leave a part of it unmasked.
    const output = context.maskSecrets(result.output);
    const file = observationFilePath(context.toolCallId);
    const truncation = truncateMiddle(output, {
      maxChars: maxOutputChars,
      marker: (removed) =>
        `\n\n[... ${removed} characters of output were cut here. The full output ` +
        `(${output.length} characters) is saved in ${context.store.describe(file)} ...]\n\n`,
    });
    if (truncation.removedChars > 0) await context.store.writeAtomic(file, output);

    const notes: string[] = [];
    if (result.timeout_occurred && result.exit_code === -1) {
      notes.push(
        `[The command is still running after ${seconds(timeout)} (exit code -1). Send an empty ` +
          'command with is_input=true to wait for more output, text with is_input=true to type ' +
          'into it, or C-c with is_input=true to interrupt it.]',
      );
    } else if (result.timeout_occurred) {
      notes.push(
        `[The command timed out after ${seconds(timeout)} and was interrupted (exit code ` +
          `${result.exit_code}). If it needs longer, run it again with a larger timeout, or in ` +
          'the background with its output redirected to a file.]',
      );
    }
    notes.push(`[Current working directory: ${workingDir}]`);
    if (!result.timeout_occurred)
      notes.push(`[Command finished with exit code ${result.exit_code}]`);
    const suffix = notes.join('\n');
    const shown = truncation.text;
    const separator = shown === '' || shown.endsWith('\n') ? '' : '\n';
    return {
      content: `${prefix}${shown}${separator}${suffix}`,
      fields: {
        command,
        exit_code: result.exit_code,
        timeout: result.timeout_occurred,
        metadata: {
          exit_code: result.exit_code,
          pid: -1,
          username: null,
          hostname: null,
          working_dir: workingDir,
          py_interpreter_path: null,
          prefix: '',
          suffix,
        },
        full_output_save_dir:
          truncation.removedChars > 0 ? context.store.describe(OBSERVATIONS_DIR) : null,
      },
    };
  }

  return defineTool({
    name: 'terminal',
    description: DESCRIPTION,
    parameters: terminalParametersSchema,
    actionKind: 'TerminalAction',
    observationKind: 'TerminalObservation',
    async execute(args, context) {
      const command = context.maskSecrets(args.command);
      const workspace = context.workspace;
      if (!isWorkspace(workspace)) {
        return missingWorkspaceResult('terminal', workspace, {
          command,
          exit_code: null,
          timeout: false,
        });
      }
      const refused = refusal(args, workspace.capabilities);
      if (refused !== undefined) return errorResult(command, refused);
      try {
        const session = await workspace.openShell({
          id: terminalSessionId(context.conversationId),
        });
        let prefix = '';
        if (args.reset) {
          await session.reset();
          prefix =
            'The terminal session has been reset: a fresh shell runs in the working directory; ' +
            'earlier variables, functions and processes are gone.\n';
          if (args.command.trim() === '') {
            const fresh = {
              command: args.command,
              exit_code: 0,
              output: '',
              timeout_occurred: false,
              working_dir: workspace.workingDir,
            };
            return await observe(fresh, defaultTimeout, prefix, context);
          }
        }
        // An empty command while one runs asks for more of its output, as in OpenHands.
        const isInput = args.is_input || (session.busy && args.command === '');
        if (!isInput && session.busy) {
          return errorResult(
            command,
            `The command "${command}" was NOT run: the previous command is still running. Send ` +
              'an empty command with is_input=true to wait for it, text with is_input=true to ' +
              'type into it, C-c with is_input=true to interrupt it, or reset=true to start over.',
          );
        }
        const timeout = args.timeout ?? defaultTimeout;
        // As OpenHands: the secrets the command names are exported into the shell first, by a
        // command of their own whose output (and text) never reaches the observation.
        const secrets = isInput ? {} : (context.secretEnv?.(args.command) ?? {});
        if (Object.keys(secrets).length > 0) {
          await session.run(shellExports(secrets), { timeout, signal: context.signal });
        }
        const result = await session.run(args.command, {
          timeout,
          // An explicit timeout is a limit; the default one only hands control back to the agent.
          interruptOnTimeout:
            !isInput && (args.timeout !== undefined || !workspace.capabilities.shellInput),
          signal: context.signal,
          ...(isInput ? { isInput: true } : {}),
        });
        // The observation names what this call sent (input included), as OpenHands does.
        return await observe({ ...result, command: args.command }, timeout, prefix, context);
      } catch (error) {
        // Refusals of the session or workspace are for the LLM to act on; an abort is not.
        if (context.signal.aborted || !FerryError.isInstance(error)) throw error;
        return errorResult(command, context.maskSecrets(error.message));
      }
    },
  });
}

/** The `terminal` tool with the default output bound and timeout. */
export const terminalTool = createTerminalTool();
