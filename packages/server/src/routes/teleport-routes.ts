import {
  ConversationTeleportedError,
  FerryError,
  agentSchema,
  bundleBaseSchema,
  verifyAgent,
  type BundleBase,
} from '@ferry/sdk-core';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import { z } from 'zod';
import type { ConversationManager } from '../conversations/conversation-manager';
import { apiRegistry } from '../schemas/api-registry';
import {
  commonErrorResponses,
  conversationParamsSchema,
  errorResponseSchema,
} from '../schemas/common-schemas';

/** Options of {@link teleportRoutes}. */
export interface TeleportRoutesOptions {
  manager: ConversationManager;
}

const teleportRequestSchema = z
  .object({
    to: z
      .url({ protocol: /^https?$/ })
      .describe('The base URL of the Ferry server to move the conversation to'),
    api_key: z
      .string()
      .optional()
      .describe("That server's session API key; used for this move only, never stored"),
    working_dir: z
      .string()
      .optional()
      .describe('Where the conversation works there; the rule of POST /api/conversations applies'),
    include_workspace: z
      .boolean()
      .default(false)
      .describe("Also carry the working folder's files (respecting .gitignore)"),
    agent: agentSchema
      .optional()
      .describe(
        'The agent to run with there (verified like a resume). Bundles carry no secrets: ' +
          'without it the conversation arrives with its LLM key redacted',
      ),
  })
  .register(apiRegistry, { id: 'TeleportRequest' });

const teleportResponseSchema = z
  .object({
    success: z.literal(true),
    to: z.string().describe('Where the conversation lives now'),
    console_url: z.string().describe("The conversation in the destination's console"),
  })
  .register(apiRegistry, { id: 'TeleportResponse' });

/** Seconds to wait for the destination's answer to a small request. */
const REQUEST_TIMEOUT_MS = 60_000;

/** The destination refused a request; `remoteCode` is the code it answered, when it gave one. */
class DestinationRefusedError extends FerryError {
  constructor(
    message: string,
    readonly remoteCode: string | undefined,
  ) {
    super('TELEPORT_DESTINATION_REFUSED', message);
  }
}

/** An answer of the destination server that was not a success. */
function destinationError(operation: string, to: string, status: number, body: string): FerryError {
  let detail = body.slice(0, 500);
  let code: string | undefined;
  try {
    const parsed = JSON.parse(body) as { code?: unknown; detail?: unknown };
    if (typeof parsed.code === 'string') code = parsed.code;
    if (typeof parsed.detail === 'string') detail = parsed.detail;
  } catch {
    // Not a Ferry error body: its text is the detail.
  }
  return new DestinationRefusedError(
    `${to} refused to ${operation} (HTTP ${status}${code === undefined ? '' : `, ${code}`}): ${detail}`,
    code,
  );
}

/**
 * What the destination holds of the conversation (its `GET .../bundle_base`), so that only what
 * it lacks travels; `undefined` when it holds no copy, or cannot say (a server without delta
 * bundles, or one that does not answer: the import then reports it).
 */
async function destinationBase(
  to: string,
  id: string,
  headers: Record<string, string>,
  query: { includeWorkspace: boolean; workingDir: string | undefined },
): Promise<BundleBase | undefined> {
  const search = new URLSearchParams({ include_workspace: String(query.includeWorkspace) });
  if (query.workingDir !== undefined) search.set('working_dir', query.workingDir);
  try {
    const response = await fetch(`${to}/api/conversations/${id}/bundle_base?${search.toString()}`, {
      headers,
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
    });
    if (!response.ok) return undefined;
    const parsed = z.object({ base: bundleBaseSchema }).safeParse(await response.json());
    return parsed.success ? parsed.data.base : undefined;
  } catch {
    return undefined;
  }
}

async function post(
  url: string,
  init: { headers: Record<string, string>; body: string | ReadableStream<Uint8Array> },
  context: { operation: string; to: string },
): Promise<void> {
  let response: Response;
  try {
    response = await fetch(url, {
      method: 'POST',
      headers: init.headers,
      body: init.body,
      ...(typeof init.body === 'string'
        ? { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) }
        : { duplex: 'half' }),
    });
  } catch (error) {
    throw new FerryError(
      'TELEPORT_DESTINATION_UNREACHABLE',
      `Could not reach ${context.to} to ${context.operation}: ${error instanceof Error ? error.message : String(error)}.`,
      { cause: error },
    );
  }
  const body = await response.text();
  if (!response.ok) throw destinationError(context.operation, context.to, response.status, body);
}

/**
 * The import request's body: the agent (with its keys) as a form field, never in a URL or a
 * header, then the bundle, streamed as it is exported.
 */
function importBody(
  bundle: Readable,
  agent: unknown,
): { contentType: string; body: ReadableStream<Uint8Array> } {
  const boundary = `----ferry-teleport-${randomUUID()}`;
  async function* parts(): AsyncGenerator<Buffer> {
    if (agent !== undefined) {
      yield Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="agent"\r\n\r\n`);
      yield Buffer.from(`${JSON.stringify(agent)}\r\n`);
    }
    yield Buffer.from(
      `--${boundary}\r\nContent-Disposition: form-data; name="bundle"; filename="conversation.tar.gz"\r\n` +
        'Content-Type: application/gzip\r\n\r\n',
    );
    for await (const chunk of bundle) yield chunk as Buffer;
    yield Buffer.from(`\r\n--${boundary}--\r\n`);
  }
  return {
    contentType: `multipart/form-data; boundary=${boundary}`,
    body: Readable.toWeb(Readable.from(parts())) as ReadableStream<Uint8Array>,
  };
}

/**
 * Ferry's `POST /api/conversations/{id}/teleport`: this server moves one of its conversations
 * to another Ferry server, as the SDK's `teleport` moves a local one, so the console can move
 * conversations between servers. The destination imports the bundle *pending*; this copy is
 * parked; then the destination confirms the arrival. At most one copy is ever runnable: a
 * refusal before the parking leaves this copy runnable, a refusal of the arrival unparks it, and
 * a move cut off after the parking answers `TELEPORT_INCOMPLETE`; calling again with the same
 * `to` finishes it.
 */
export function teleportRoutes(app: FastifyInstance, { manager }: TeleportRoutesOptions): void {
  app.withTypeProvider<ZodTypeProvider>().post(
    '/api/conversations/:conversation_id/teleport',
    {
      schema: {
        tags: ['Ferry extensions'],
        summary: 'Move the conversation to another Ferry server',
        params: conversationParamsSchema,
        body: teleportRequestSchema,
        response: {
          200: teleportResponseSchema,
          409: errorResponseSchema.describe('The conversation is running, or already left'),
          502: errorResponseSchema.describe('The destination refused or could not be reached'),
          ...commonErrorResponses,
        },
      },
    },
    async (request) => {
      const { conversation_id: requested } = request.params;
      const body = request.body;
      const to = new URL(body.to).origin;
      const here = `${request.protocol}://${request.host}`;
      if (to === here) {
        throw new FerryError('INVALID_ARGUMENT', `The conversation already lives on ${here}.`);
      }
      const record = await manager.get(requested);
      const id = record.state.id;
      const headers: Record<string, string> =
        body.api_key === undefined ? {} : { 'x-session-api-key': body.api_key };
      const arrive = (bundleId: string) =>
        post(
          `${to}/api/conversations/${id}/arrive`,
          {
            headers: { ...headers, 'content-type': 'application/json' },
            body: JSON.stringify({ bundle_id: bundleId }),
          },
          { operation: 'confirm the arrival', to },
        );
      const done = { success: true as const, to, console_url: `${to}/ui/#${id}` };

      const parked = record.state.teleport;
      if (parked !== undefined && parked !== null) {
        // An earlier move to the same server was cut off after the parking: finish it.
        if (parked.to !== to || parked.bundle_id === undefined) {
          throw new ConversationTeleportedError(id, parked.to, parked.at);
        }
        await arrive(parked.bundle_id);
        return done;
      }

      if (body.agent !== undefined) verifyAgent(body.agent, record.state.agent);
      const query = new URLSearchParams({ teleport_from: here, pending: 'true' });
      if (body.working_dir !== undefined) query.set('working_dir', body.working_dir);
      const send = async (base: BundleBase | undefined) => {
        const { manifest, stream } = await manager.bundles.exportBundle(id, {
          includeWorkspace: body.include_workspace,
          base,
        });
        const upload = importBody(stream, body.agent);
        try {
          await post(
            `${to}/api/conversations/import?${query.toString()}`,
            { headers: { ...headers, 'content-type': upload.contentType }, body: upload.body },
            { operation: 'import the conversation', to },
          );
        } finally {
          stream.destroy();
        }
        return manifest;
      };
      // A copy the destination already holds (it was there before): only what it lacks travels.
      const base = await destinationBase(to, id, headers, {
        includeWorkspace: body.include_workspace,
        workingDir: body.working_dir,
      });
      let manifest;
      try {
        manifest = await send(base);
      } catch (error) {
        // Its copy changed between its description and the delta: send it all.
        const mismatch =
          error instanceof DestinationRefusedError && error.remoteCode === 'BUNDLE_BASE_MISMATCH';
        if (base === undefined || !mismatch) throw error;
        manifest = await send(undefined);
      }
      await manager.bundles.markTeleported(
        id,
        { to, bundleId: manifest.bundle_id },
        { eventCount: manifest.event_count },
      );
      try {
        await arrive(manifest.bundle_id);
      } catch (error) {
        if (FerryError.isInstance(error) && error.code === 'TELEPORT_DESTINATION_REFUSED') {
          // The destination answered no: it will not run its copy, so this one runs again.
          await manager.use(id, (entry) => entry.conversation.updateState({ teleport: null }));
          throw error;
        }
        throw new FerryError(
          'TELEPORT_INCOMPLETE',
          `Moving conversation ${id} to ${to} was cut off before ${to} confirmed its arrival: ` +
            `it stays parked here, so it never runs in two places. Teleport it to ${to} again ` +
            'to finish the move.',
          { cause: error },
        );
      }
      return done;
    },
  );
}
