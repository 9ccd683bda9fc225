import { createServer } from 'node:http';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import {
  completionBody,
  completionChunks,
  computeUsage,
  errorBody,
  type Reply,
  type ResponseIdentity,
} from './chat-completion-response';
import {
  abortableDelay,
  disconnectSignal,
  listen,
  pathOf,
  readBody,
  sendJson,
} from './http-helpers';
import { parseRequest, type RecordedRequest } from './recorded-request';
import { scriptTurnSchema, type HttpErrorTurn, type ScriptTurn } from './script-turn';

/** Chooses the turn answering a request; `index` is the request's position in `requests`. */
export type RespondFunction = (
  request: RecordedRequest,
  index: number,
) => ScriptTurn | Promise<ScriptTurn>;

interface CommonOptions {
  /** The model name sent back in responses; by default the one the request asked for. */
  model?: string;
}

/** Options of `startScriptedLLMServer`: a fixed `script`, or a `respond` function. */
export type ScriptedLLMServerOptions = CommonOptions &
  (
    | {
        /** Turns used in order, one per chat completion request. */
        script: readonly ScriptTurn[];
        /**
         * What a request past the end of the script gets: by default (`'error'`) an HTTP 500
         * "scripted LLM: script exhausted after N turns"; or a turn to answer every such request.
         */
        onExhausted?: 'error' | ScriptTurn;
        respond?: never;
      }
    | { respond: RespondFunction; script?: never; onExhausted?: never }
  );

/** A running scripted LLM server. Close it with `close()` or `await using`. */
export interface ScriptedLLMServer extends AsyncDisposable {
  /** The OpenAI base URL to give a provider, e.g. `http://127.0.0.1:PORT/v1`. */
  readonly baseUrl: string;
  /** The server's origin, e.g. `http://127.0.0.1:PORT`. */
  readonly url: string;
  /** Every chat completion request received so far, including invalid and retried ones. */
  readonly requests: readonly RecordedRequest[];
  /** Script turns not yet used (`Infinity` with a `respond` function). */
  readonly remaining: number;
  /**
   * Resolves with the `count`-th request (1-based) once it has arrived, even while its turn is
   * still waiting on `delayMs`. Rejects if the server closes first.
   */
  waitForRequest(count: number): Promise<RecordedRequest>;
  /**
   * Resolves once no request is being answered, e.g. after a client aborted a delayed turn and
   * the server has seen it go.
   */
  waitForIdle(): Promise<void>;
  /** Stops the server, ends pending delays and drops open connections. */
  close(): Promise<void>;
}

interface RequestWaiter {
  count: number;
  resolve: (request: RecordedRequest) => void;
  reject: (error: Error) => void;
}

/**
 * Starts a loopback server on a free port that speaks the OpenAI Chat Completions API
 * (streaming and not) from a script of turns, and records every request.
 */
export async function startScriptedLLMServer(
  options: ScriptedLLMServerOptions,
): Promise<ScriptedLLMServer> {
  const script = (options.script ?? []).map((turn, index) =>
    validateTurn(turn, `turn ${index + 1}`),
  );
  const onExhausted =
    options.onExhausted === undefined || options.onExhausted === 'error'
      ? undefined
      : validateTurn(options.onExhausted, 'onExhausted');
  const respond = options.respond;

  const requests: RecordedRequest[] = [];
  const waiters = new Set<RequestWaiter>();
  const idleWaiters = new Set<() => void>();
  let inFlight = 0;
  const shutdown = new AbortController();
  let used = 0;
  let generatedIds = 0;
  let responseCount = 0;

  const takeTurn = async (request: RecordedRequest, index: number): Promise<ScriptTurn> => {
    if (respond !== undefined) {
      try {
        return validateTurn(await respond(request, index), 'the turn returned by respond()');
      } catch (error) {
        return internalError(error instanceof Error ? error.message : String(error));
      }
    }
    const turn = script[used];
    if (turn !== undefined) {
      used += 1;
      return turn;
    }
    return onExhausted ?? exhausted(script.length);
  };

  const toReply = (turn: Exclude<ScriptTurn, HttpErrorTurn>): Reply => {
    if (turn.kind === 'text') {
      return {
        content: turn.content,
        reasoning: turn.reasoning,
        toolCalls: [],
        finishReason: turn.finishReason ?? 'stop',
        usage: turn.usage,
      };
    }
    return {
      content: turn.content,
      reasoning: turn.reasoning,
      toolCalls: turn.toolCalls.map((call) => {
        if (call.id !== undefined) return { ...call, id: call.id };
        generatedIds += 1;
        return { ...call, id: `call_${generatedIds}` };
      }),
      finishReason: 'tool_calls',
      usage: turn.usage,
    };
  };

  const handleChatCompletion = async (request: IncomingMessage, response: ServerResponse) => {
    const rawBody = await readBody(request);
    const { request: recorded, problem } = parseRequest({
      path: pathOf(request),
      headers: request.headers,
      rawBody,
    });
    requests.push(recorded);
    for (const waiter of waiters) {
      const arrived = requests[waiter.count - 1];
      if (arrived !== undefined) {
        waiters.delete(waiter);
        waiter.resolve(arrived);
      }
    }
    if (problem !== undefined) {
      sendJson(response, 400, errorBody({ message: problem }));
      return;
    }

    const turn = await takeTurn(recorded, requests.length - 1);
    // Settle tool call ids before any delay, so they follow the order turns are used in.
    const answer =
      turn.kind === 'http-error'
        ? ({ kind: 'error', turn } as const)
        : ({ kind: 'reply', reply: toReply(turn) } as const);
    if (turn.delayMs !== undefined && turn.delayMs > 0) {
      const signals = [shutdown.signal, disconnectSignal(response)];
      if (!(await abortableDelay(turn.delayMs, signals))) return;
    }
    if (answer.kind === 'error') {
      sendError(response, answer.turn);
      return;
    }
    const reply = answer.reply;

    responseCount += 1;
    const identity: ResponseIdentity = {
      id: `chatcmpl-scripted-${responseCount}`,
      created: Math.floor(Date.now() / 1000),
      model: options.model ?? recorded.model ?? 'scripted-model',
    };
    const usage = computeUsage(recorded, reply);
    if (!recorded.stream) {
      sendJson(response, 200, completionBody(identity, reply, usage));
      return;
    }
    if (response.destroyed) return;
    response.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    });
    for (const chunk of completionChunks(
      identity,
      reply,
      recorded.include_usage ? usage : undefined,
    )) {
      response.write(`data: ${JSON.stringify(chunk)}\n\n`);
    }
    response.end('data: [DONE]\n\n');
  };

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const path = pathOf(request);
    if (request.method === 'POST' && path === '/v1/chat/completions') {
      await handleChatCompletion(request, response);
    } else if (request.method === 'GET' && path === '/v1/models') {
      const id = options.model ?? 'scripted-model';
      sendJson(response, 200, {
        object: 'list',
        data: [{ id, object: 'model', created: 0, owned_by: 'ferry-scripted-llm' }],
      });
    } else {
      sendJson(
        response,
        404,
        errorBody({ message: `scripted LLM: no route for ${request.method} ${path}` }),
      );
    }
  };

  const server = createServer((request, response) => {
    inFlight += 1;
    handle(request, response)
      .catch((error: unknown) => {
        // A broken request must never crash the test process; report it to the client instead.
        if (!response.headersSent) {
          sendJson(response, 500, internalErrorBody(error));
        } else {
          response.destroy();
        }
      })
      .finally(() => {
        inFlight -= 1;
        if (inFlight > 0) return;
        for (const resolve of idleWaiters) resolve();
        idleWaiters.clear();
      });
  });
  const port = await listen(server);
  const url = `http://127.0.0.1:${port}`;

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= new Promise<void>((resolve) => {
      shutdown.abort();
      for (const waiter of waiters) {
        waiter.reject(new Error(`scripted LLM: closed before request ${waiter.count} arrived`));
      }
      waiters.clear();
      server.close(() => resolve());
      server.closeAllConnections();
    });
    return closing;
  };

  return {
    baseUrl: `${url}/v1`,
    url,
    requests,
    get remaining() {
      return respond === undefined ? script.length - used : Infinity;
    },
    waitForRequest(count: number) {
      const arrived = requests[count - 1];
      if (arrived !== undefined) return Promise.resolve(arrived);
      if (shutdown.signal.aborted) {
        return Promise.reject(new Error('scripted LLM: the server is closed'));
      }
      return new Promise<RecordedRequest>((resolve, reject) => {
        waiters.add({ count, resolve, reject });
      });
    },
    waitForIdle() {
      if (inFlight === 0) return Promise.resolve();
      return new Promise<void>((resolve) => {
        idleWaiters.add(resolve);
      });
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

function validateTurn(turn: unknown, label: string): ScriptTurn {
  const parsed = scriptTurnSchema.safeParse(turn);
  if (!parsed.success) {
    throw new TypeError(`scripted LLM: invalid ${label}: ${z.prettifyError(parsed.error)}`);
  }
  return parsed.data;
}

function exhausted(turns: number): HttpErrorTurn {
  return {
    kind: 'http-error',
    status: 500,
    type: 'server_error',
    code: 'script_exhausted',
    message: `scripted LLM: script exhausted after ${turns} ${turns === 1 ? 'turn' : 'turns'}`,
    // Clients retry 5xx; answering at once keeps a test with too short a script fast.
    headers: { 'retry-after-ms': '0' },
  };
}

function internalError(reason: string): HttpErrorTurn {
  return {
    kind: 'http-error',
    status: 500,
    type: 'server_error',
    code: 'respond_failed',
    message: `scripted LLM: respond() failed: ${reason}`,
    headers: { 'retry-after-ms': '0' },
  };
}

function internalErrorBody(error: unknown) {
  const reason = error instanceof Error ? error.message : String(error);
  return errorBody({ message: `scripted LLM: internal error: ${reason}`, type: 'server_error' });
}

function sendError(response: ServerResponse, turn: HttpErrorTurn) {
  const headers: Record<string, string> = { ...turn.headers };
  if (turn.retryAfter !== undefined) headers['retry-after'] = String(turn.retryAfter);
  sendJson(response, turn.status, errorBody(turn), headers);
}
