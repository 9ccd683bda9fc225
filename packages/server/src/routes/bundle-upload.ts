import type { Multipart } from '@fastify/multipart';
import { BundleTooLargeError, agentSchema, type AgentInput } from '@ferry/sdk-core';
import type { FastifyRequest } from 'fastify';
import { Transform, type Readable } from 'node:stream';
import { RequestValidationError } from '../errors/request-validation-error';

/** The header that may carry the agent of an import: base64 of its JSON. */
export const AGENT_HEADER = 'x-ferry-agent';

function parseAgent(json: string, location: (string | number)[]): AgentInput {
  let value: unknown;
  try {
    value = JSON.parse(json) as unknown;
  } catch {
    throw new RequestValidationError([{ loc: location, msg: 'not valid JSON', type: 'json' }]);
  }
  const parsed = agentSchema.safeParse(value);
  if (!parsed.success) {
    throw new RequestValidationError(
      parsed.error.issues.map((issue) => ({
        loc: [
          ...location,
          ...issue.path.map((part) => (typeof part === 'symbol' ? String(part) : part)),
        ],
        msg: issue.message,
        type: issue.code,
      })),
    );
  }
  return parsed.data;
}

/** Counts bytes through, failing past `limit`. */
function byteLimit(limit: number): Transform {
  let size = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, done) {
      size += chunk.length;
      if (size > limit) {
        done(new BundleTooLargeError({ subject: 'upload', size, limit, option: 'maxBundleBytes' }));
      } else {
        done(null, chunk);
      }
    },
  });
}

/** `source` through {@link byteLimit}; an error of `source` fails the result too. */
function limited(source: Readable, limit: number): Readable {
  const counter = byteLimit(limit);
  source.on('error', (error) => counter.destroy(error));
  return source.pipe(counter);
}

/**
 * Reads and drops the rest of `stream` (at most `limit` bytes more, then gives up and destroys
 * it), so that an answer sent after a failure reaches a client still sending.
 */
async function drain(stream: Readable, limit: number): Promise<void> {
  if (stream.readableEnded || stream.destroyed) return;
  let bytes = 0;
  await new Promise<void>((resolve) => {
    stream.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > limit) stream.destroy();
    });
    stream.once('end', resolve);
    stream.once('close', resolve);
    stream.once('error', () => resolve());
    stream.resume();
  });
}

/** The bundle of an import request, read as it arrives, and the agent sent with it. */
export interface BundleUpload {
  /** The bundle's bytes, within the size limit. */
  source: Readable;
  /** The agent sent before the bundle (header, or a form field before the file). */
  agent: AgentInput | undefined;
  /** Reads what the request holds after the bundle; the agent, if a form field after it gave one. */
  finish(): Promise<AgentInput | undefined>;
  /** Reads and drops what is left of the request (after a failure). */
  discard(): Promise<void>;
}

/**
 * The bundle of an import request: its raw body, or the `bundle` file of a multipart form (the
 * fields before it read, other files dropped); `undefined` for a form without one.
 */
export async function receiveUpload(
  request: FastifyRequest,
  limit: number,
): Promise<BundleUpload | undefined> {
  const header = request.headers[AGENT_HEADER];
  let agent =
    typeof header === 'string'
      ? parseAgent(Buffer.from(header, 'base64').toString('utf8'), ['header', AGENT_HEADER])
      : undefined;
  if (!request.isMultipart()) {
    const body = request.body as Readable;
    return {
      source: limited(body, limit),
      agent,
      finish: () => Promise.resolve(undefined),
      discard: () => drain(body, limit),
    };
  }
  const parts = request.parts()[Symbol.asyncIterator]();
  let late: AgentInput | undefined;
  /** One part that is not the bundle: an agent field is read, any other file dropped. */
  const other = async (part: Multipart, after: boolean) => {
    if (part.type === 'file') await drain(part.file, limit);
    else if (part.fieldname === 'agent' && typeof part.value === 'string') {
      const parsed = parseAgent(part.value, ['body', 'agent']);
      if (after) late = parsed;
      else agent = parsed;
    }
  };
  for (;;) {
    const next = await parts.next();
    if (next.done === true) return undefined;
    const part = next.value;
    if (part.type !== 'file' || part.fieldname !== 'bundle') {
      await other(part, false);
      continue;
    }
    const rest = async () => {
      for (let after = await parts.next(); after.done !== true; after = await parts.next()) {
        await other(after.value, true);
      }
    };
    return {
      source: limited(part.file, limit),
      agent,
      finish: async () => {
        await rest();
        return late;
      },
      discard: async () => {
        await drain(part.file, limit);
        await rest().catch(() => undefined);
      },
    };
  }
}
