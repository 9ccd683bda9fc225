import { describe, expect, it } from 'vitest';
import {
  httpError,
  startScriptedLLMServer,
  text,
  toolCall,
  type ScriptedLLMServer,
  type ScriptTurn,
} from './index';

// The OpenAI wire format, checked byte by byte with plain fetch, as other clients would see it.

async function post(
  server: ScriptedLLMServer,
  body: unknown,
  headers: Record<string, string> = {},
) {
  return fetch(`${server.baseUrl}/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

const chatRequest = { model: 'any-model', messages: [{ role: 'user', content: 'Hi' }] };

interface Chunk {
  choices: { delta: Record<string, unknown>; finish_reason: string | null }[];
  usage?: Record<string, unknown>;
}

async function streamEvents(response: Response): Promise<string[]> {
  const body = await response.text();
  return body
    .split('\n\n')
    .filter((event) => event.length > 0)
    .map((event) => event.replace(/^data: /, ''));
}

function parseChunks(events: string[]): Chunk[] {
  return events.filter((event) => event !== '[DONE]').map((event) => JSON.parse(event) as Chunk);
}

describe('scripted LLM server, on the wire', () => {
  it('sends a chat.completion with tool calls and usage', async () => {
    await using server = await startScriptedLLMServer({
      script: [toolCall('search', { query: 'ferry' }, { content: 'Searching.' })],
    });

    const response = await post(server, chatRequest);

    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({
      object: 'chat.completion',
      model: 'any-model',
      choices: [
        {
          index: 0,
          message: {
            role: 'assistant',
            content: 'Searching.',
            tool_calls: [
              {
                id: 'call_1',
                type: 'function',
                function: { name: 'search', arguments: '{"query":"ferry"}' },
              },
            ],
          },
          finish_reason: 'tool_calls',
        },
      ],
      usage: {
        prompt_tokens: expect.any(Number) as unknown,
        completion_tokens: expect.any(Number) as unknown,
        total_tokens: expect.any(Number) as unknown,
        prompt_tokens_details: { cached_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 0 },
      },
    });
  });

  it('streams role, text deltas, finish reason, usage and [DONE]', async () => {
    await using server = await startScriptedLLMServer({
      script: [text('One two three', { reasoning: 'Count up' })],
    });

    const response = await post(server, {
      ...chatRequest,
      stream: true,
      stream_options: { include_usage: true },
    });
    const events = await streamEvents(response);
    const chunks = parseChunks(events);

    expect(response.headers.get('content-type')).toBe('text/event-stream');
    expect(events.at(-1)).toBe('[DONE]');
    expect(chunks[0]?.choices[0]?.delta).toMatchObject({ role: 'assistant' });
    const deltas = chunks.flatMap((chunk) => chunk.choices.map((choice) => choice.delta));
    expect(deltas.flatMap((delta) => delta.reasoning_content ?? [])).toEqual(['Count ', 'up']);
    expect(deltas.flatMap((delta) => delta.content ?? [])).toEqual(['One ', 'two ', 'three']);
    expect(chunks.at(-2)?.choices[0]?.finish_reason).toBe('stop');
    expect(chunks.at(-1)).toMatchObject({
      choices: [],
      usage: { total_tokens: expect.any(Number) as unknown },
    });
  });

  it('sends no usage chunk unless the client asks for it', async () => {
    await using server = await startScriptedLLMServer({ script: [text('Hello')] });

    const chunks = parseChunks(
      await streamEvents(await post(server, { ...chatRequest, stream: true })),
    );

    expect(chunks.some((chunk) => 'usage' in chunk)).toBe(false);
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('stop');
  });

  it('streams a tool call as id and name first, then its arguments in pieces', async () => {
    const args = { path: 'docs/readme.md', lines: 40 };
    await using server = await startScriptedLLMServer({ script: [toolCall('read_file', args)] });

    const chunks = parseChunks(
      await streamEvents(await post(server, { ...chatRequest, stream: true })),
    );
    const toolDeltas = chunks.flatMap((chunk) =>
      chunk.choices.flatMap((choice) => (choice.delta.tool_calls as object[] | undefined) ?? []),
    ) as { index: number; id?: string; function: { name?: string; arguments?: string } }[];

    expect(toolDeltas[0]).toMatchObject({
      index: 0,
      id: 'call_1',
      function: { name: 'read_file' },
    });
    expect(toolDeltas.length).toBeGreaterThan(2);
    expect(toolDeltas.map((delta) => delta.function.arguments ?? '').join('')).toBe(
      JSON.stringify(args),
    );
    expect(chunks.at(-1)?.choices[0]?.finish_reason).toBe('tool_calls');
  });

  it('sends scripted HTTP errors with an OpenAI error body and Retry-After', async () => {
    await using server = await startScriptedLLMServer({
      script: [httpError(429, { message: 'Slow down', retryAfter: 7, code: 'rate_limit' })],
    });

    const response = await post(server, chatRequest);

    expect(response.status).toBe(429);
    expect(response.headers.get('retry-after')).toBe('7');
    expect(await response.json()).toEqual({
      error: { message: 'Slow down', type: 'rate_limit_exceeded', code: 'rate_limit', param: null },
    });
  });

  it('rejects a body that is not JSON with a 400, records it and keeps the turn', async () => {
    await using server = await startScriptedLLMServer({ script: [text('unused')] });

    const response = await post(server, '{not json', { authorization: 'Bearer sk-live-123' });
    const body = (await response.json()) as { error: { message: string; type: string } };

    expect(response.status).toBe(400);
    expect(body.error).toMatchObject({ type: 'invalid_request_error' });
    expect(body.error.message).toMatch(/^scripted LLM: the request body is not valid JSON/);
    expect(server.requests).toHaveLength(1);
    expect(server.requests[0]).toMatchObject({
      body: '{not json',
      headers: { authorization: 'Bearer ***' },
    });
    expect(server.remaining).toBe(1);
  });

  it('rejects a request without messages with a 400', async () => {
    await using server = await startScriptedLLMServer({ script: [text('unused')] });

    const response = await post(server, { model: 'm' });

    expect(response.status).toBe(400);
    expect(server.requests[0]?.body).toEqual({ model: 'm' });
  });

  it('lists the model and answers unknown routes with a 404', async () => {
    await using server = await startScriptedLLMServer({ model: 'scripted-1', script: [] });

    const models = await fetch(`${server.baseUrl}/models`);
    const unknown = await fetch(`${server.url}/v1/embeddings`, { method: 'POST', body: '{}' });

    expect(await models.json()).toMatchObject({ object: 'list', data: [{ id: 'scripted-1' }] });
    expect(unknown.status).toBe(404);
    expect(server.requests).toHaveLength(0);
  });

  it('answers with a 500 when the respond function throws', async () => {
    await using server = await startScriptedLLMServer({
      respond: () => {
        throw new Error('no idea what to say');
      },
    });

    const response = await post(server, chatRequest);

    expect(response.status).toBe(500);
    expect(await response.json()).toMatchObject({
      error: { message: 'scripted LLM: respond() failed: no idea what to say' },
    });
  });

  it('refuses an invalid script when starting', async () => {
    const script = [text('fine'), { kind: 'tool-calls', toolCalls: [] }] as unknown as ScriptTurn[];

    await expect(startScriptedLLMServer({ script })).rejects.toThrow(
      /scripted LLM: invalid turn 2/,
    );
  });

  it('ends a pending delay and the connection on close', async () => {
    const server = await startScriptedLLMServer({
      script: [text('never sent', { delayMs: 60_000 })],
    });
    const pending = post(server, chatRequest).then(
      () => 'answered',
      () => 'connection closed',
    );
    const neverArrives = expect(server.waitForRequest(2)).rejects.toThrow(
      /closed before request 2 arrived/,
    );

    await server.waitForRequest(1);
    await server.close();

    expect(await pending).toBe('connection closed');
    await neverArrives;
  });
});
