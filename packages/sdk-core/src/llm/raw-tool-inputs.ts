import type { LanguageModelMiddleware } from 'ai';
import type { ProviderLanguageModel } from './create-language-model';

type ProviderStream = Awaited<ReturnType<ProviderLanguageModel['doStream']>>['stream'];
type ProviderStreamPart = ProviderStream extends ReadableStream<infer Part> ? Part : never;

/**
 * Middleware that hands `record` the argument text of every tool call exactly as the provider
 * produced it. `streamText` only exposes parsed arguments for valid calls, and Ferry keeps the
 * raw text (valid or not) in its events.
 */
export function recordRawToolInputs(
  record: (toolCallId: string, input: string) => void,
): LanguageModelMiddleware {
  return {
    specificationVersion: 'v3',
    wrapStream: async ({ doStream }) => {
      const result = await doStream();
      const recorder = new TransformStream<ProviderStreamPart, ProviderStreamPart>({
        transform(part, controller) {
          if (part.type === 'tool-call') record(part.toolCallId, part.input);
          controller.enqueue(part);
        },
      });
      return { ...result, stream: result.stream.pipeThrough(recorder) };
    },
  };
}
