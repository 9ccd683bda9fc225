import { createOpenAI } from '@ai-sdk/openai';
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { APICallError, generateText, stepCountIs, streamText, tool } from 'ai';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  contextWindowExceeded,
  httpError,
  startScriptedLLMServer,
  text,
  toolCall,
  toolCalls,
  type ScriptedLLMServer,
} from './index';

function compatibleModel(server: ScriptedLLMServer, modelId = 'scripted-model') {
  const provider = createOpenAICompatible({
    name: 'scripted',
    baseURL: server.baseUrl,
    apiKey: 'test',
    includeUsage: true,
  });
  return provider(modelId);
}

function openAIModel(server: ScriptedLLMServer, modelId = 'gpt-4o') {
  return createOpenAI({ baseURL: server.baseUrl, apiKey: 'sk-secret-key' }).chat(modelId);
}

const weather = tool({
  description: 'Current weather of a city',
  inputSchema: z.object({ city: z.string() }),
});

async function failure(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.fail('expected the call to fail'),
    (error: unknown) => error,
  );
}

describe('startScriptedLLMServer with the AI SDK (openai-compatible)', () => {
  it('answers with scripted text', async () => {
    await using server = await startScriptedLLMServer({ script: [text('Hello there')] });

    const result = await generateText({ model: compatibleModel(server), prompt: 'Hi' });

    expect(result.text).toBe('Hello there');
    expect(result.finishReason).toBe('stop');
    expect(server.remaining).toBe(0);
  });

  it('returns tool calls with parsed arguments and deterministic ids', async () => {
    await using server = await startScriptedLLMServer({
      script: [
        toolCalls([
          { name: 'weather', args: { city: 'Paris' } },
          { name: 'weather', args: { city: 'Oslo' }, id: 'call_custom' },
        ]),
        toolCall('weather', { city: 'Rome' }),
      ],
    });
    const model = compatibleModel(server);

    const first = await generateText({ model, prompt: 'Weather?', tools: { weather } });
    const second = await generateText({ model, prompt: 'And Rome?', tools: { weather } });

    expect(first.finishReason).toBe('tool-calls');
    expect(
      first.toolCalls.map(({ toolCallId, toolName, input }) => ({ toolCallId, toolName, input })),
    ).toEqual([
      { toolCallId: 'call_1', toolName: 'weather', input: { city: 'Paris' } },
      { toolCallId: 'call_custom', toolName: 'weather', input: { city: 'Oslo' } },
    ]);
    expect(second.toolCalls[0]).toMatchObject({ toolCallId: 'call_2', input: { city: 'Rome' } });
  });

  it('runs a tool loop: the tool result is sent back in the next request', async () => {
    await using server = await startScriptedLLMServer({
      script: [toolCall('weather', { city: 'Paris' }), text('It is sunny in Paris.')],
    });

    const result = await generateText({
      model: compatibleModel(server),
      prompt: 'Weather in Paris?',
      tools: {
        weather: tool({
          inputSchema: z.object({ city: z.string() }),
          execute: ({ city }) => ({ city, forecast: 'sunny' }),
        }),
      },
      stopWhen: stepCountIs(3),
    });

    expect(result.text).toBe('It is sunny in Paris.');
    expect(result.steps).toHaveLength(2);
    const followUp = server.requests[1]?.messages ?? [];
    expect(followUp.map((message) => message.role)).toEqual(['user', 'assistant', 'tool']);
    expect(followUp[1]?.tool_calls?.[0]?.function).toEqual({
      name: 'weather',
      arguments: '{"city":"Paris"}',
    });
    expect(followUp[2]).toMatchObject({ tool_call_id: 'call_1' });
    expect(JSON.stringify(followUp[2]?.content)).toContain('sunny');
  });

  it('sends invalid tool arguments as is', async () => {
    await using server = await startScriptedLLMServer({
      script: [toolCall('weather', '{"city": ')],
    });

    const result = await generateText({
      model: compatibleModel(server),
      prompt: 'Weather?',
      tools: { weather },
    });

    expect(result.toolCalls[0]).toMatchObject({ invalid: true, input: '{"city": ' });
  });

  it('streams text in several deltas', async () => {
    await using server = await startScriptedLLMServer({
      script: [text('The quick brown fox jumps over the lazy dog.')],
    });

    const result = streamText({ model: compatibleModel(server), prompt: 'Tell me something' });
    const deltas: string[] = [];
    for await (const delta of result.textStream) deltas.push(delta);

    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join('')).toBe('The quick brown fox jumps over the lazy dog.');
    expect(server.requests[0]).toMatchObject({ stream: true, include_usage: true });
  });

  it('streams tool calls whose arguments arrive in pieces', async () => {
    await using server = await startScriptedLLMServer({
      script: [toolCall('weather', { city: 'San Francisco' })],
    });

    const result = streamText({
      model: compatibleModel(server),
      prompt: 'Weather?',
      tools: { weather },
    });

    const calls = await result.toolCalls;
    expect(calls.map(({ toolCallId, input }) => ({ toolCallId, input }))).toEqual([
      { toolCallId: 'call_1', input: { city: 'San Francisco' } },
    ]);
    expect(await result.finishReason).toBe('tool-calls');
  });

  it('reports scripted usage, streaming or not', async () => {
    const usage = { promptTokens: 120, completionTokens: 7, cachedTokens: 100, reasoningTokens: 3 };
    await using server = await startScriptedLLMServer({
      script: [text('Hi', { usage }), text('Hi', { usage })],
    });
    const model = compatibleModel(server);

    const generated = await generateText({ model, prompt: 'Hi' });
    const streamed = streamText({ model, prompt: 'Hi' });
    await streamed.consumeStream();

    for (const result of [generated.usage, await streamed.usage]) {
      expect(result).toMatchObject({
        inputTokens: 120,
        outputTokens: 7,
        totalTokens: 127,
        inputTokenDetails: { cacheReadTokens: 100 },
        outputTokenDetails: { reasoningTokens: 3 },
      });
    }
  });

  it('estimates usage deterministically when the turn does not set it', async () => {
    await using server = await startScriptedLLMServer({
      script: [text('Twelve chars'), text('Twelve chars')],
    });
    const model = compatibleModel(server);

    const first = await generateText({ model, prompt: 'Same prompt' });
    const second = await generateText({ model, prompt: 'Same prompt' });

    expect(first.usage.outputTokens).toBe(3);
    expect(first.usage.inputTokens).toBeGreaterThan(0);
    expect(second.usage).toEqual(first.usage);
  });

  it('sends reasoning as reasoning_content', async () => {
    await using server = await startScriptedLLMServer({
      script: [
        text('42', { reasoning: 'Six times seven.' }),
        text('42', { reasoning: 'Six times seven.' }),
      ],
    });
    const model = compatibleModel(server);

    const generated = await generateText({ model, prompt: 'Answer?' });
    const streamed = streamText({ model, prompt: 'Answer?' });

    expect(generated.reasoningText).toBe('Six times seven.');
    expect(generated.text).toBe('42');
    expect(await streamed.reasoningText).toBe('Six times seven.');
    expect(await streamed.text).toBe('42');
  });

  it('lets the AI SDK retry a 429 that carries Retry-After', async () => {
    await using server = await startScriptedLLMServer({
      script: [httpError(429, { message: 'Rate limit reached', retryAfter: 0 }), text('ok')],
    });

    const result = await generateText({ model: compatibleModel(server), prompt: 'Hi' });

    expect(result.text).toBe('ok');
    expect(server.requests).toHaveLength(2);
  });

  it('surfaces a context window error as an APICallError with status 400', async () => {
    await using server = await startScriptedLLMServer({ script: [contextWindowExceeded()] });

    const error = await failure(generateText({ model: compatibleModel(server), prompt: 'Hi' }));

    expect(APICallError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({
      statusCode: 400,
      isRetryable: false,
      message: expect.stringContaining('maximum context length is 128000 tokens') as unknown,
    });
    expect((error as APICallError).responseBody).toContain('context_length_exceeded');
  });

  it('answers a request past the end of the script with a clear 500, and records it', async () => {
    await using server = await startScriptedLLMServer({ script: [text('only one')] });
    const model = compatibleModel(server);
    await generateText({ model, prompt: 'first' });

    const error = await failure(generateText({ model, prompt: 'second', maxRetries: 0 }));

    expect(APICallError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({
      statusCode: 500,
      message: 'scripted LLM: script exhausted after 1 turn',
    });
    expect(server.requests).toHaveLength(2);
    expect(server.requests[1]?.messages).toEqual([{ role: 'user', content: 'second' }]);
  });

  it('stops waiting on a delayed turn when the client aborts', async () => {
    await using server = await startScriptedLLMServer({
      script: [text('too late', { delayMs: 60_000 })],
    });
    const controller = new AbortController();

    const call = failure(
      generateText({
        model: compatibleModel(server),
        prompt: 'Hi',
        abortSignal: controller.signal,
      }),
    );
    await server.waitForRequest(1);
    controller.abort();

    expect(await call).toMatchObject({ name: 'AbortError' });
    await server.waitForIdle();
    expect(server.remaining).toBe(0);
  });

  it('lets a respond function choose each turn from the request', async () => {
    await using server = await startScriptedLLMServer({
      respond: (request, index) => {
        const last = request.messages.at(-1);
        return text(`#${index} you said: ${String(last?.content)}`);
      },
    });
    const model = compatibleModel(server);

    const first = await generateText({ model, prompt: 'ping' });
    const second = await generateText({ model, prompt: 'pong' });

    expect([first.text, second.text]).toEqual(['#0 you said: ping', '#1 you said: pong']);
    expect(server.remaining).toBe(Infinity);
  });

  it('answers with onExhausted once the script is used up', async () => {
    await using server = await startScriptedLLMServer({
      script: [text('first')],
      onExhausted: text('again'),
    });
    const model = compatibleModel(server);

    const replies: string[] = [];
    for (const prompt of ['a', 'b', 'c']) {
      replies.push((await generateText({ model, prompt })).text);
    }

    expect(replies).toEqual(['first', 'again', 'again']);
  });
});

describe('startScriptedLLMServer with the AI SDK (openai chat)', () => {
  it('records what the client sent, with the API key redacted', async () => {
    await using server = await startScriptedLLMServer({ script: [text('Noted.')] });

    await generateText({
      model: openAIModel(server),
      system: 'Be brief.',
      prompt: 'Remember this.',
      tools: { weather },
      toolChoice: 'auto',
      temperature: 0.3,
      topP: 0.9,
      maxOutputTokens: 256,
    });

    const [request] = server.requests;
    expect(request).toMatchObject({
      path: '/v1/chat/completions',
      model: 'gpt-4o',
      temperature: 0.3,
      top_p: 0.9,
      max_tokens: 256,
      stream: false,
      tool_choice: 'auto',
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Remember this.' },
      ],
    });
    expect(request?.tools?.[0]).toMatchObject({
      type: 'function',
      function: { name: 'weather', description: 'Current weather of a city' },
    });
    expect(request?.headers.authorization).toBe('Bearer ***');
    expect(JSON.stringify(server.requests)).not.toContain('sk-secret-key');
  });

  it('records reasoning_effort and max_completion_tokens of reasoning models', async () => {
    await using server = await startScriptedLLMServer({ script: [text('Done.')] });

    await generateText({
      model: openAIModel(server, 'o3-mini'),
      prompt: 'Think.',
      maxOutputTokens: 1000,
      providerOptions: { openai: { reasoningEffort: 'low' } },
    });

    expect(server.requests[0]).toMatchObject({
      reasoning_effort: 'low',
      max_completion_tokens: 1000,
    });
  });

  it('answers text, tool calls and streams', async () => {
    await using server = await startScriptedLLMServer({
      model: 'gpt-scripted',
      script: [
        text('Plain answer.'),
        toolCall('weather', { city: 'Lima' }),
        text('Streamed answer in words.', { usage: { promptTokens: 10, completionTokens: 5 } }),
      ],
    });
    const model = openAIModel(server);

    const plain = await generateText({ model, prompt: 'Hi' });
    const withTool = await generateText({ model, prompt: 'Weather?', tools: { weather } });
    const streamed = streamText({ model, prompt: 'Stream' });
    const deltas: string[] = [];
    for await (const delta of streamed.textStream) deltas.push(delta);

    expect(plain.text).toBe('Plain answer.');
    expect(plain.response.modelId).toBe('gpt-scripted');
    expect(withTool.toolCalls[0]).toMatchObject({ toolCallId: 'call_1', input: { city: 'Lima' } });
    expect(deltas.length).toBeGreaterThan(1);
    expect(deltas.join('')).toBe('Streamed answer in words.');
    expect(await streamed.usage).toMatchObject({ inputTokens: 10, outputTokens: 5 });
  });
});
