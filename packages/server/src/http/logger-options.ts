import type { FastifyServerOptions } from 'fastify';

/** Replaces the value of `session_api_key` in a URL's query string. */
export function redactUrl(url: string): string {
  return url.replace(/([?&]session_api_key=)[^&#]*/gi, '$1[redacted]');
}

/** What {@link StartServerOptions.logger} accepts: on/off, or pino options. */
export type LoggerSetting = boolean | Exclude<FastifyServerOptions['logger'], boolean | undefined>;

/**
 * Fastify logger options that never write a key: the `X-Session-API-Key` and `Authorization`
 * headers are redacted, and so is a `session_api_key` in a logged URL.
 */
export function loggerOptions(setting: LoggerSetting | undefined): FastifyServerOptions['logger'] {
  if (setting === undefined || setting === false) return false;
  const base = setting === true ? {} : setting;
  return {
    ...base,
    redact: {
      paths: ['req.headers["x-session-api-key"]', 'req.headers.authorization'],
      censor: '[redacted]',
    },
    serializers: {
      req: (request: { method: string; url: string; ip?: string }) => ({
        method: request.method,
        url: redactUrl(request.url),
        remoteAddress: request.ip,
      }),
    },
  };
}
