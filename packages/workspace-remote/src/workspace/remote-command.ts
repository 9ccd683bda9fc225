import type { CommandResult, OutputListener } from '@ferry/sdk-core';
import { z } from 'zod';
import type { HttpClient } from '../http/http-client';
import { shellQuote } from './shell-quote';

/** The longest timeout the server takes, in seconds (its timers hold at most ~24.8 days). */
const MAX_TIMEOUT_SECONDS = 2_000_000;

/** Extra seconds an HTTP request waits beyond the command's own timeout. */
const HTTP_GRACE_SECONDS = 30;

/** Polling of a background command's output: first after this many ms, then slower. */
const FIRST_POLL_MS = 10;
const MAX_POLL_MS = 100;

/** Seconds a process group gets to exit after SIGTERM before SIGKILL. */
const KILL_GRACE_SECONDS = 2;

/** The first line a streamed command prints: its process group id, so abort can kill it. */
const GROUP_MARKER = '__ferry_process_group__:';

const bashOutputSchema = z.looseObject({
  exit_code: z.number().int().nullish(),
  stdout: z.string().nullish(),
  stderr: z.string().nullish(),
});

const bashOutputPieceSchema = bashOutputSchema.extend({
  kind: z.literal('BashOutput'),
  order: z.number().int(),
});

const bashEventPageSchema = z.looseObject({
  items: z.array(z.looseObject({ kind: z.string() })),
  next_page_id: z.string().nullish(),
});

const bashCommandSchema = z.looseObject({ id: z.string() });

/** What {@link runRemoteCommand} needs, resolved by the workspace. */
export interface RemoteCommandRequest {
  client: HttpClient;
  /** What the caller asked to run, as reported back in the result. */
  command: string;
  /** What is sent: `command` with any `export` lines before it. */
  script: string;
  cwd: string;
  /** Seconds. */
  timeout: number;
  signal?: AbortSignal | undefined;
  onOutput?: OutputListener | undefined;
}

/** Whole seconds the server accepts: at least 1, `Infinity` as the longest it can wait. */
export function serverTimeout(seconds: number): number {
  if (!Number.isFinite(seconds)) return MAX_TIMEOUT_SECONDS;
  return Math.min(MAX_TIMEOUT_SECONDS, Math.max(1, Math.ceil(seconds)));
}

/**
 * Runs a command on the server. Without a signal or an output listener it is one
 * `execute_bash_command` request; otherwise the command starts in the background
 * (`start_bash_command`) and its output is followed through `bash_events/search`, which is
 * also what lets an abort kill it: the server's API has no cancel route, so the command first
 * prints its process group id and an abort sends that group SIGTERM (then SIGKILL).
 */
export async function runRemoteCommand(request: RemoteCommandRequest): Promise<CommandResult> {
  request.signal?.throwIfAborted();
  if (request.signal === undefined && request.onOutput === undefined) {
    return executeAndWait(request);
  }
  return startAndFollow(request);
}

async function executeAndWait(request: RemoteCommandRequest): Promise<CommandResult> {
  const timeout = serverTimeout(request.timeout);
  const output = bashOutputSchema.parse(
    await request.client.json({
      method: 'POST',
      path: '/api/bash/execute_bash_command',
      json: { command: request.script, cwd: request.cwd, timeout },
      timeout: timeout + HTTP_GRACE_SECONDS,
      context: { path: request.cwd, operation: 'run a command in' },
    }),
  );
  return result(request.command, output.exit_code ?? -1, output.stdout ?? '', output.stderr ?? '');
}

function result(command: string, exitCode: number, stdout: string, stderr: string): CommandResult {
  // The server reports a command it killed at its timeout with exit code -1.
  return { command, exit_code: exitCode, stdout, stderr, timeout_occurred: exitCode === -1 };
}

async function startAndFollow(request: RemoteCommandRequest): Promise<CommandResult> {
  const { client, signal } = request;
  const started = bashCommandSchema.parse(
    await client.json({
      method: 'POST',
      path: '/api/bash/start_bash_command',
      json: {
        command: `printf '%s\\n' ${shellQuote(GROUP_MARKER)}"$$"\n${request.script}`,
        cwd: request.cwd,
        timeout: serverTimeout(request.timeout),
      },
      context: { path: request.cwd, operation: 'run a command in' },
    }),
  );
  const stdout = new MarkedStream((text) => request.onOutput?.({ stream: 'stdout', text }));
  let stderr = '';
  let lastOrder = -1;
  let delay = FIRST_POLL_MS;
  let killed = false;
  for (;;) {
    if (signal?.aborted === true && !killed && stdout.group !== undefined) {
      killed = true;
      await killGroup(client, stdout.group);
      throw signal.reason;
    }
    const pieces = await outputSince(client, started.id, lastOrder);
    for (const piece of pieces) {
      lastOrder = piece.order;
      if (piece.stdout) stdout.append(piece.stdout);
      if (piece.stderr) {
        stderr += piece.stderr;
        request.onOutput?.({ stream: 'stderr', text: piece.stderr });
      }
      if (piece.exit_code !== null && piece.exit_code !== undefined) {
        // Aborted but ended before its group id was seen: nothing left to kill.
        if (signal?.aborted === true) throw signal.reason;
        return result(request.command, piece.exit_code, stdout.text(), stderr);
      }
    }
    if (pieces.length === 0) {
      await pause(delay, signal);
      delay = Math.min(delay * 2, MAX_POLL_MS);
    } else {
      delay = FIRST_POLL_MS;
    }
  }
}

/** Output pieces of a command with an order above `after`, oldest first, every page. */
async function outputSince(
  client: HttpClient,
  commandId: string,
  after: number,
): Promise<z.infer<typeof bashOutputPieceSchema>[]> {
  const pieces: z.infer<typeof bashOutputPieceSchema>[] = [];
  let pageId: string | undefined;
  do {
    const page = bashEventPageSchema.parse(
      await client.json({
        path: '/api/bash/bash_events/search',
        query: {
          kind__eq: 'BashOutput',
          command_id__eq: commandId,
          order__gt: after,
          sort_order: 'TIMESTAMP',
          limit: 100,
          page_id: pageId,
        },
      }),
    );
    for (const item of page.items) pieces.push(bashOutputPieceSchema.parse(item));
    pageId = page.next_page_id ?? undefined;
  } while (pageId !== undefined);
  return pieces.sort((a, b) => a.order - b.order);
}

async function killGroup(client: HttpClient, group: number): Promise<void> {
  const target = `-${group}`;
  const script =
    `kill -TERM -- ${target} 2>/dev/null || exit 0\n` +
    `for _ in $(seq ${KILL_GRACE_SECONDS * 10}); do kill -0 -- ${target} 2>/dev/null || exit 0; sleep 0.1; done\n` +
    `kill -KILL -- ${target} 2>/dev/null; exit 0\n`;
  await client.json({
    method: 'POST',
    path: '/api/bash/execute_bash_command',
    json: { command: script, timeout: KILL_GRACE_SECONDS + 10 },
  });
}

/** Waits `ms`, or less when `signal` aborts (the caller then kills the command). */
function pause(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** A streamed command's stdout, less the process group line the wrapper prints first. */
class MarkedStream {
  group: number | undefined;
  #head = '';
  #body = '';
  #headDone = false;
  readonly #emit: (text: string) => void;

  constructor(emit: (text: string) => void) {
    this.#emit = emit;
  }

  append(text: string): void {
    if (this.#headDone) {
      this.#push(text);
      return;
    }
    this.#head += text;
    const newline = this.#head.indexOf('\n');
    if (newline < 0) return;
    const line = this.#head.slice(0, newline);
    const rest = this.#head.slice(newline + 1);
    this.#headDone = true;
    this.#head = '';
    if (line.startsWith(GROUP_MARKER)) {
      const group = Number(line.slice(GROUP_MARKER.length));
      if (Number.isInteger(group) && group > 1) this.group = group;
      this.#push(rest);
    } else {
      this.#push(`${line}\n${rest}`);
    }
  }

  text(): string {
    // A command that ended before the wrapper's line was whole printed nothing of its own.
    return this.#body;
  }

  #push(text: string): void {
    if (text === '') return;
    this.#body += text;
    this.#emit(text);
  }
}
