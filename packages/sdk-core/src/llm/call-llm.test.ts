import type { ModelMessage } from 'ai';
import { describe, expect, it } from 'vitest';
import { LLMAbortedError } from '../errors/llm-aborted-error';
import { LLMAuthenticationError } from '../errors/llm-authentication-error';
import { LLMContextWindowError } from '../errors/llm-context-window-error';
import { LLMError } from '../errors/llm-error';
import { LLMProviderError } from '../errors/llm-provider-error';
import { LLMRateLimitError } from '../errors/llm-rate-limit-error';
import { LLMTimeoutError } from '../errors/llm-timeout-error';
import {
  contextWindowExceeded,
  httpError,
  startScriptedLLMServer,
  text,
  toolCall,
  toolCalls,
  type ScriptedLLMServer,
} from '../testing/index';
import { callLLM, type LLMCallRequest, type LLMToolSpec } from './call-llm';
import { llmSchema, type LLMInput } from './llm-schema';

const readFile: LLMToolSpec = {
  name: 'read_file',
  description: 'Reads a file of the workspace.',
  inputSchema: { type: 'object', properties: { path: { type: 'string' } }, required: ['path'] },
};
const messages: ModelMessage[] = [{ role: 'user', content: 'Read a.txt' }];

function request(
  server: ScriptedLLMServer,
  llm: Partial<LLMInput> = {},
  options: Partial<Omit<LLMCallRequest, 'llm'>> = {},
): LLMCallRequest {
  return {
    llm: llmSchema.parse({
      model: 'scripted-model',
      base_url: server.baseUrl,
      api_key: 'test-key',
      ...llm,
    }),
    system: 'You are a careful agent.',
    messages,
    tools: [readFile],
    ...options,
  };
}

async function failure(call: Promise<unknown>): Promise<LLMError> {
  const error = await call.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  if (!LLMError.isInstance(error)) throw new Error(`expected an LLMError, got ${String(error)}`);
  return error;
}

describe('callLLM against the scripted OpenAI-compatible server', () => {
  it('returns the text and streams it as deltas', async () => {
    await using server = await startScriptedLLMServer({ script: [text('Hello there, agent.')] });
    const deltas: string[] = [];

    const result = await callLLM(
      request(server, {}, { onTextDelta: (delta) => deltas.push(delta) }),
    );

    expect(result).toMatchObject({
      text: 'Hello there, agent.',
      toolCalls: [],
      finishReason: 'stop',
      responseId: 'chatcmpl-scripted-1',
      provider: `openai-compatible:${server.baseUrl}`,
      reasoningParts: [],
    });
    expect(result.reasoning).toBeUndefined();
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join('')).toBe('Hello there, agent.');
    expect(server.requests[0]).toMatchObject({ stream: true, include_usage: true });
  });

  it('sends the system prompt, messages, tools, sampling settings and model', async () => {
    await using server = await startScriptedLLMServer({ script: [text('ok')] });

    await callLLM(
      request(server, {
        model: 'litellm_proxy/gpt-4.1-mini',
        temperature: 0.3,
        top_p: 0.9,
        max_output_tokens: 256,
      }),
    );

    const recorded = server.requests[0];
    expect(recorded).toMatchObject({
      model: 'gpt-4.1-mini',
      temperature: 0.3,
      top_p: 0.9,
      max_tokens: 256,
      messages: [
        { role: 'system', content: 'You are a careful agent.' },
        { role: 'user', content: 'Read a.txt' },
      ],
      tools: [
        {
          type: 'function',
          function: {
            name: 'read_file',
            description: 'Reads a file of the workspace.',
            parameters: readFile.inputSchema,
          },
        },
      ],
    });
    expect(recorded?.headers.authorization).toBe('Bearer ***');
  });

  it('sends no tools when there are none', async () => {
    await using server = await startScriptedLLMServer({ script: [text('ok')] });
    await callLLM(request(server, {}, { tools: [] }));
    expect(server.requests[0]?.tools).toBeUndefined();
  });

  it('returns tool calls with their raw argument text, unexecuted', async () => {
    await using server = await startScriptedLLMServer({
      script: [
        toolCalls(
          [
            { name: 'read_file', args: '{ "path" : "a.txt" }' },
            { name: 'read_file', args: { path: 'b.txt' }, id: 'call_b' },
          ],
          { content: 'Reading both.' },
        ),
      ],
    });

    const result = await callLLM(request(server));

    expect(result.text).toBe('Reading both.');
    expect(result.finishReason).toBe('tool-calls');
    expect(result.toolCalls).toEqual([
      { id: 'call_1', name: 'read_file', arguments: '{ "path" : "a.txt" }' },
      { id: 'call_b', name: 'read_file', arguments: '{"path":"b.txt"}' },
    ]);
    expect(server.requests).toHaveLength(1);
  });

  it('returns a call with invalid JSON arguments as raw text without throwing', async () => {
    await using server = await startScriptedLLMServer({
      script: [toolCall('read_file', '{"path": "a.txt",')],
    });

    const result = await callLLM(request(server));

    expect(result.toolCalls).toEqual([
      { id: 'call_1', name: 'read_file', arguments: '{"path": "a.txt",' },
    ]);
  });

  it('returns a call to an unknown tool, and arguments that break the schema', async () => {
    await using server = await startScriptedLLMServer({
      script: [
        toolCalls([
          { name: 'delete_everything', args: { really: true } },
          { name: 'read_file', args: { path: 42 } },
        ]),
      ],
    });

    const result = await callLLM(request(server));

    expect(result.toolCalls).toEqual([
      { id: 'call_1', name: 'delete_everything', arguments: '{"really":true}' },
      { id: 'call_2', name: 'read_file', arguments: '{"path":42}' },
    ]);
  });

  it('retries a 429 transparently', async () => {
    await using server = await startScriptedLLMServer({
      script: [httpError(429, { message: 'Rate limit reached', retryAfter: 0 }), text('ok')],
    });

    const result = await callLLM(request(server));

    expect(result.text).toBe('ok');
    expect(server.requests).toHaveLength(2);
  });

  it('raises LLMRateLimitError when every retry is rate limited', async () => {
    await using server = await startScriptedLLMServer({
      script: [
        httpError(429, { message: 'Rate limit reached', retryAfter: 0 }),
        httpError(429, { message: 'Rate limit reached for gpt-4o', retryAfter: 0 }),
      ],
    });

    const error = await failure(callLLM(request(server, { num_retries: 1 })));

    expect(LLMRateLimitError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({
      attempts: 2,
      providerMessage: 'Rate limit reached for gpt-4o',
      usageId: 'default',
      model: 'scripted-model',
    });
    expect(server.requests).toHaveLength(2);
  });

  it('raises LLMProviderError with the status once 5xx retries run out', async () => {
    // The exhausted script answers 500 with retry-after-ms: 0.
    await using server = await startScriptedLLMServer({ script: [] });

    const error = await failure(callLLM(request(server, { num_retries: 2 })));

    expect(LLMProviderError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ status: 500 });
    expect(error.providerMessage).toContain('script exhausted');
    expect(server.requests).toHaveLength(3);
  });

  it('raises LLMAuthenticationError on 401 without retrying', async () => {
    await using server = await startScriptedLLMServer({
      script: [httpError(401, { message: 'Incorrect API key provided' })],
    });

    const error = await failure(callLLM(request(server, { usage_id: 'condenser' })));

    expect(LLMAuthenticationError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({
      status: 401,
      usageId: 'condenser',
      providerMessage: 'Incorrect API key provided',
    });
    expect(error.message).toContain('Incorrect API key provided');
    expect(error.message).not.toContain('test-key');
    expect(server.requests).toHaveLength(1);
  });

  it('raises LLMContextWindowError with the provider message', async () => {
    await using server = await startScriptedLLMServer({
      script: [contextWindowExceeded({ contextWindow: 8192 })],
    });

    const error = await failure(callLLM(request(server)));

    expect(LLMContextWindowError.isInstance(error)).toBe(true);
    expect(error.providerMessage).toContain("This model's maximum context length is 8192 tokens");
    expect(error.toJSON()).toMatchObject({
      name: 'LLMContextWindowError',
      code: 'LLM_CONTEXT_WINDOW_EXCEEDED',
      status: 400,
      usage_id: 'default',
    });
  });

  it('raises LLMTimeoutError when the timeout fires first', async () => {
    await using server = await startScriptedLLMServer({
      script: [text('too late', { delayMs: 60_000 })],
    });

    const error = await failure(callLLM(request(server, { timeout: 0.05 })));

    expect(LLMTimeoutError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ timeoutSeconds: 0.05 });
    expect(server.requests).toHaveLength(1);
  });

  it('counts retries in the timeout', async () => {
    await using server = await startScriptedLLMServer({
      script: [httpError(503, { message: 'busy', retryAfter: 30 }), text('too late')],
    });

    const error = await failure(callLLM(request(server, { timeout: 0.05 })));

    expect(LLMTimeoutError.isInstance(error)).toBe(true);
    expect(server.requests).toHaveLength(1);
  });

  it('raises LLMAbortedError as soon as the caller aborts', async () => {
    await using server = await startScriptedLLMServer({
      script: [text('never sent', { delayMs: 60_000 })],
    });
    const controller = new AbortController();

    const call = failure(callLLM(request(server, {}, { signal: controller.signal })));
    await server.waitForRequest(1);
    controller.abort();

    expect(LLMAbortedError.isInstance(await call)).toBe(true);
    await server.waitForIdle();
  });

  it('raises LLMAbortedError without a request when the signal is already aborted', async () => {
    await using server = await startScriptedLLMServer({ script: [text('unused')] });

    const error = await failure(callLLM(request(server, {}, { signal: AbortSignal.abort() })));

    expect(LLMAbortedError.isInstance(error)).toBe(true);
    expect(server.requests).toHaveLength(0);
  });

  it('lets an error of onTextDelta through unchanged', async () => {
    await using server = await startScriptedLLMServer({ script: [text('Hello there')] });
    const listenerError = new Error('listener broke');

    const call = callLLM(
      request(
        server,
        {},
        {
          onTextDelta: () => {
            throw listenerError;
          },
        },
      ),
    );

    await expect(call).rejects.toBe(listenerError);
  });

  it('reports the token usage and the cost from the document prices', async () => {
    await using server = await startScriptedLLMServer({
      script: [
        text('ok', {
          usage: {
            promptTokens: 1000,
            completionTokens: 200,
            cachedTokens: 400,
            reasoningTokens: 50,
          },
        }),
      ],
    });

    const result = await callLLM(
      request(server, {
        usage_id: 'agent',
        input_cost_per_token: 0.000001,
        output_cost_per_token: 0.000002,
      }),
    );

    expect(result.usage).toMatchObject({
      promptTokens: 1000,
      completionTokens: 200,
      cacheReadTokens: 400,
      cacheWriteTokens: 0,
      reasoningTokens: 50,
      model: 'scripted-model',
      usageId: 'agent',
    });
    expect(result.usage.cost).toBeCloseTo(1000 * 0.000001 + 200 * 0.000002, 12);
    expect(result.usage.latency).toBeGreaterThanOrEqual(0);
  });

  it('prices a well-known model from the built-in table, and leaves others unpriced', async () => {
    const usage = { promptTokens: 1000, completionTokens: 200, cachedTokens: 400 };
    await using server = await startScriptedLLMServer({
      script: [text('ok', { usage }), text('ok', { usage })],
    });

    const known = await callLLM(request(server, { model: 'openai/gpt-4o-2024-08-06' }));
    const unknown = await callLLM(request(server, { model: 'my-local-model' }));

    // gpt-4o: $2.50 / M input, $1.25 / M cached input, $10 / M output.
    expect(known.usage.cost).toBeCloseTo((600 * 2.5 + 400 * 1.25 + 200 * 10) / 1e6, 12);
    expect(unknown.usage.cost).toBeUndefined();
  });

  it('returns the reasoning the provider sent', async () => {
    await using server = await startScriptedLLMServer({
      script: [text('The answer is 4.', { reasoning: 'Two plus two is four.' })],
    });

    const result = await callLLM(request(server));

    expect(result.text).toBe('The answer is 4.');
    expect(result.reasoning).toBe('Two plus two is four.');
    expect(result.reasoningParts).toEqual([{ text: 'Two plus two is four.' }]);
  });

  it('merges litellm_extra_body into the request body', async () => {
    await using server = await startScriptedLLMServer({ script: [text('ok')] });

    await callLLM(
      request(server, {
        litellm_extra_body: { metadata: { trace_id: 'run-7' }, top_k: 5 },
      }),
    );

    expect(server.requests[0]?.body).toMatchObject({
      metadata: { trace_id: 'run-7' },
      top_k: 5,
    });
  });

  it('sends reasoning_effort to a compatible endpoint, not for OpenAI models without it', async () => {
    await using server = await startScriptedLLMServer({
      script: [text('ok'), text('ok'), text('ok')],
    });

    await callLLM(request(server, { model: 'deepseek-reasoner', reasoning_effort: 'low' }));
    await callLLM(request(server, { model: 'litellm_proxy/o4-mini', reasoning_effort: 'high' }));
    await callLLM(request(server, { model: 'gpt-4o-mini', reasoning_effort: 'high' }));

    expect(server.requests.map((recorded) => recorded.reasoning_effort)).toEqual([
      'low',
      'high',
      undefined,
    ]);
  });
});
