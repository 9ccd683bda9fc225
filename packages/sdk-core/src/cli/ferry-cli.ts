import { parseArgs } from 'node:util';
import { FerryError } from '../errors/ferry-error';
import { exportOpenHandsConversation } from '../openhands/export-openhands';
import { importOpenHandsConversation } from '../openhands/import-openhands';
import type { OpenHandsTransferProgress } from '../openhands/transfer-support';

/** Where the CLI writes: results to `out`, progress and errors to `err`. */
export interface CliOutput {
  out: (text: string) => void;
  err: (text: string) => void;
}

const MAIN_HELP = `Usage: ferry <command> [options]

Commands:
  openhands import <folder>   import an OpenHands conversation folder into Ferry
  openhands export <id>       write a Ferry conversation in OpenHands' layout

Run "ferry openhands <command> --help" for a command's options.
`;

const OPENHANDS_HELP = `Usage: ferry openhands <import|export> ...

Moves conversations between OpenHands and Ferry, same id, whole history.

  ferry openhands import <folder> --persistence-dir <dir>
  ferry openhands export <conversation-id> --persistence-dir <dir> --to <dir>
`;

const IMPORT_HELP = `Usage: ferry openhands import <folder> --persistence-dir <dir> [--json] [--quiet]

Imports an OpenHands conversation folder (base_state.json, events/event-NNNNN-<id>.json,
meta.json; OpenHands keeps it in <persistence_dir>/<id without dashes>) as a Ferry
conversation with the same id, written to <dir>/<id without dashes>. Every event file is
checked first; nothing is written when one is bad. Secrets arrive as "**********": open the
conversation with an agent that carries its keys.

Options:
  --persistence-dir <dir>  Ferry's folder of conversations (env FERRY_PERSISTENCE_DIR)
  --json                   print the result as JSON
  --quiet                  no progress on stderr
  -h, --help               show this help
`;

const EXPORT_HELP = `Usage: ferry openhands export <conversation-id> --persistence-dir <dir> --to <dir>
                              [--json] [--quiet]

Writes a Ferry conversation in OpenHands' layout to <to>/<id without dashes>, where the
OpenHands Python SDK opens it with Conversation(..., persistence_dir=<to>,
conversation_id=<id>). Events are made valid under OpenHands' models; what OpenHands cannot
hold is kept in ferry-export.json and restored by "ferry openhands import". Secrets are
written as "**********". Pause a running conversation first.

Options:
  --persistence-dir <dir>  Ferry's folder of conversations (env FERRY_PERSISTENCE_DIR)
  --to <dir>               OpenHands' persistence folder to write into
  --json                   print the result as JSON
  --quiet                  no progress on stderr
  -h, --help               show this help
`;

/** A mistake in the command line: the message and the help to show with it. */
class UsageError extends Error {
  constructor(
    message: string,
    readonly help: string,
  ) {
    super(message);
  }
}

/**
 * Runs `ferry` with its arguments (without `node` and the script) and resolves with the exit
 * code: 0 on success, 1 when the command failed, 2 for a wrong command line.
 */
export async function runFerryCli(
  args: readonly string[],
  output: CliOutput,
  env: NodeJS.ProcessEnv = process.env,
): Promise<number> {
  try {
    return await dispatch(args, output, env);
  } catch (error) {
    if (error instanceof UsageError) {
      output.err(`ferry: ${error.message}\n\n${error.help}`);
      return 2;
    }
    if (FerryError.isInstance(error)) {
      output.err(`ferry: ${error.message} (${error.code})\n`);
      return 1;
    }
    throw error;
  }
}

async function dispatch(
  args: readonly string[],
  output: CliOutput,
  env: NodeJS.ProcessEnv,
): Promise<number> {
  const [group, command, ...rest] = args;
  if (group === undefined) throw new UsageError('missing a command', MAIN_HELP);
  if (group === '--help' || group === '-h' || group === 'help') {
    output.out(MAIN_HELP);
    return 0;
  }
  if (group !== 'openhands') throw new UsageError(`unknown command "${group}"`, MAIN_HELP);
  if (command === undefined) throw new UsageError('missing "import" or "export"', OPENHANDS_HELP);
  if (command === '--help' || command === '-h') {
    output.out(OPENHANDS_HELP);
    return 0;
  }
  if (command === 'import') return importCommand(rest, output, env);
  if (command === 'export') return exportCommand(rest, output, env);
  throw new UsageError(`unknown command "openhands ${command}"`, OPENHANDS_HELP);
}

function parse(args: readonly string[], help: string, withTo: boolean) {
  try {
    return parseArgs({
      args: [...args],
      allowPositionals: true,
      options: {
        'persistence-dir': { type: 'string' },
        ...(withTo ? { to: { type: 'string' } } : {}),
        json: { type: 'boolean', default: false },
        quiet: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error), help);
  }
}

function required(value: unknown, name: string, help: string): string {
  if (typeof value !== 'string' || value === '') throw new UsageError(`missing ${name}`, help);
  return value;
}

function onlyPositional(positionals: string[], name: string, help: string): string {
  if (positionals.length !== 1) {
    throw new UsageError(
      positionals.length === 0 ? `missing ${name}` : `unexpected "${positionals[1] ?? ''}"`,
      help,
    );
  }
  return positionals[0] ?? '';
}

function progress(
  output: CliOutput,
  verb: string,
  quiet: boolean,
): ((step: OpenHandsTransferProgress) => void) | undefined {
  if (quiet) return undefined;
  return (step) => output.err(`${verb}: ${step.events}/${step.totalEvents} events\n`);
}

async function importCommand(
  args: readonly string[],
  output: CliOutput,
  env: NodeJS.ProcessEnv,
): Promise<number> {
  const { values, positionals } = parse(args, IMPORT_HELP, false);
  if (values.help) {
    output.out(IMPORT_HELP);
    return 0;
  }
  const from = onlyPositional(positionals, 'the OpenHands conversation folder', IMPORT_HELP);
  const persistenceDir = required(
    values['persistence-dir'] ?? env.FERRY_PERSISTENCE_DIR,
    '--persistence-dir',
    IMPORT_HELP,
  );
  const result = await importOpenHandsConversation({
    from,
    persistenceDir,
    onProgress: progress(output, 'importing', values.quiet),
  });
  if (values.json) {
    output.out(`${JSON.stringify(result, null, 2)}\n`);
  } else {
    output.out(
      `Imported conversation ${result.conversationId} (${result.events} events) into ` +
        `${result.location}\n` +
        (result.unknownKinds.length === 0
          ? ''
          : `Kept events of kinds Ferry does not know: ${result.unknownKinds.join(', ')}\n`),
    );
  }
  return 0;
}

async function exportCommand(
  args: readonly string[],
  output: CliOutput,
  env: NodeJS.ProcessEnv,
): Promise<number> {
  const { values, positionals } = parse(args, EXPORT_HELP, true);
  if (values.help) {
    output.out(EXPORT_HELP);
    return 0;
  }
  const conversationId = onlyPositional(positionals, 'the conversation id', EXPORT_HELP);
  const persistenceDir = required(
    values['persistence-dir'] ?? env.FERRY_PERSISTENCE_DIR,
    '--persistence-dir',
    EXPORT_HELP,
  );
  const to = required(values.to, '--to', EXPORT_HELP);
  const result = await exportOpenHandsConversation({
    persistenceDir,
    conversationId,
    to,
    onProgress: progress(output, 'exporting', values.quiet),
  });
  if (values.json) {
    output.out(`${JSON.stringify(result, null, 2)}\n`);
  } else {
    output.out(
      `Exported conversation ${result.conversationId} (${result.events} events) to ` +
        `${result.location}\n`,
    );
  }
  return 0;
}
