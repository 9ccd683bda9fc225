import {
  LLMRateLimitError,
  LLMTimeoutError,
  callLLM,
  llmSchema,
  llmSecretFields,
} from '@ferry/sdk-core';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { profileParamsSchema } from './settings-routes';

/** OpenHands' `ValidateProfileResponse`. */
const validateProfileResponseSchema = z.object({
  valid: z.boolean(),
  error: z.object({ type: z.string(), message: z.string() }).nullable(),
});

/**
 * `POST /api/profiles/{name}/validate`: OpenHands' pre-flight check of an LLM configuration
 * before it is saved. One tiny completion ("ping", at most one token, no retries) is sent;
 * a misconfiguration (unknown model, bad base URL, wrong key) answers `valid: false` with the
 * error's class name and message (the key masked), a rate limit or timeout `valid: true`, as
 * OpenHands does: they say nothing about the configuration. Nothing is stored.
 */
export function profileValidateRoute(app: FastifyInstance): void {
  app.withTypeProvider<ZodTypeProvider>().post(
    '/api/profiles/:name/validate',
    {
      schema: {
        tags: ['Profiles'],
        summary: 'Check an LLM configuration with one tiny completion (nothing is saved)',
        params: profileParamsSchema,
        body: z.object({ llm: llmSchema }),
        response: { 200: validateProfileResponseSchema },
      },
    },
    async (request) => {
      const llm = request.body.llm;
      try {
        await callLLM({
          llm: { ...llm, max_output_tokens: 1, num_retries: 0, stream: false },
          system: '',
          messages: [{ role: 'user', content: 'ping' }],
          tools: [],
        });
        return { valid: true, error: null };
      } catch (error) {
        if (LLMRateLimitError.isInstance(error) || LLMTimeoutError.isInstance(error)) {
          return { valid: true, error: null };
        }
        const type = error instanceof Error ? error.name : 'Error';
        let message = error instanceof Error ? error.message : String(error);
        for (const field of llmSecretFields) {
          const secret = (llm as Record<string, unknown>)[field];
          if (typeof secret === 'string' && secret !== '') {
            message = message.replaceAll(secret, '**********');
          }
        }
        return { valid: false, error: { type, message: message || type } };
      }
    },
  );
}
