import multipart from '@fastify/multipart';
import {
  FerryError,
  bundleBaseSchema,
  bundleManifestSchema,
  type ExportedBundle,
} from '@ferry/sdk-core';
import type { FastifyInstance, FastifyReply } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ConversationManager } from '../conversations/conversation-manager';
import { toConversationInfo } from '../conversations/conversation-info';
import { apiRegistry } from '../schemas/api-registry';
import {
  commonErrorResponses,
  conversationParamsSchema,
  errorResponseSchema,
  successSchema,
} from '../schemas/common-schemas';
import { conversationInfoSchema } from '../schemas/conversation-schemas';
import { serverErrors } from '../errors/http-status';
import { receiveUpload } from './bundle-upload';

/** Options of {@link bundleRoutes}. */
export interface BundleRoutesOptions {
  manager: ConversationManager;
  /** Most bytes of an uploaded bundle, compressed and uncompressed alike. */
  maxBundleBytes: number;
}

export { AGENT_HEADER } from './bundle-upload';

const BUNDLE_TYPES = ['application/gzip', 'application/x-gzip', 'application/octet-stream'];
const tags = ['Ferry extensions'];

apiRegistry.add(bundleManifestSchema, { id: 'BundleManifest' });
apiRegistry.add(bundleBaseSchema, { id: 'BundleBase' });

const bundleBaseQuerySchema = z.object({
  include_workspace: z
    .stringbool()
    .default(false)
    .describe("Also list the working folder's files (those an import would write to)"),
  working_dir: z
    .string()
    .optional()
    .describe('The working folder an import would use (default the copy’s own)'),
});

const bundleBaseResponseSchema = z
  .object({ base: bundleBaseSchema })
  .register(apiRegistry, { id: 'BundleBaseResponse' });

/** The answers of both export routes. */
const bundleResponses = {
  200: {
    description:
      'The bundle; `X-Ferry-Bundle-Id`, `X-Ferry-Event-Count` and (a delta asked for but not ' +
      'possible) `X-Ferry-Base-Refused` describe it',
    content: { 'application/gzip': { schema: z.string().describe('binary') } },
  },
  409: errorResponseSchema.describe('The conversation is running'),
  ...commonErrorResponses,
};

const deltaExportRequestSchema = z.object({
  include_workspace: z
    .boolean()
    .default(false)
    .describe("Also carry the working folder's files (respecting .gitignore)"),
  base: bundleBaseSchema
    .optional()
    .describe(
      'What the destination holds (its GET .../bundle_base answer): the bundle then carries ' +
        'only what it lacks (a version 2 delta), or the whole conversation if its copy diverged',
    ),
});

const exportQuerySchema = z.object({
  include_workspace: z
    .stringbool()
    .default(false)
    .describe("Also carry the working folder's files (respecting .gitignore)"),
});

const importQuerySchema = z.object({
  overwrite: z
    .stringbool()
    .default(false)
    .describe(
      'Replace a conversation with the same id (a copy parked here by a teleport is always replaced)',
    ),
  working_dir: z
    .string()
    .optional()
    .describe('Where the conversation works here; the rule of POST /api/conversations applies'),
  teleport_from: z
    .string()
    .optional()
    .describe('Record the arrival as a TeleportEvent from this place (e.g. a laptop label)'),
  pending: z
    .stringbool()
    .default(false)
    .describe(
      'With `teleport_from`: import the conversation parked (it still lives at `teleport_from`) ' +
        'until POST /api/conversations/{id}/arrive confirms the arrival. A teleport cut off ' +
        'before the confirmation then leaves no runnable copy here.',
    ),
});

const arriveRequestSchema = z.object({
  bundle_id: z.string().min(1).describe('The bundle the pending import was made from'),
});

const importResponseSchema = z
  .object({ conversation: conversationInfoSchema, manifest: bundleManifestSchema })
  .register(apiRegistry, { id: 'ImportBundleResponse' });

const markTeleportedRequestSchema = z.object({
  to: z.string().min(1).describe('Where the conversation now lives (shown in the 409 of a run)'),
  bundle_id: z.string().optional(),
  event_count: z
    .number()
    .int()
    .nonnegative()
    .optional()
    .describe(
      'Precondition: the events the exported bundle holds (`X-Ferry-Event-Count`). If the ' +
        'conversation has another count now, it is not parked (409 BUNDLE_SOURCE_CHANGED)',
    ),
  last_event_id: z
    .string()
    .min(1)
    .optional()
    .describe('Precondition: the id of the last event the exported bundle holds'),
});

/** Answers with a bundle stream and the headers that describe it. */
function sendBundle(reply: FastifyReply, bundle: ExportedBundle): FastifyReply {
  const { manifest } = bundle;
  reply
    .type('application/gzip')
    .header('content-disposition', `attachment; filename="${manifest.conversation_id}.tar.gz"`)
    .header('x-ferry-bundle-id', manifest.bundle_id)
    .header('x-ferry-event-count', String(manifest.event_count));
  if (bundle.baseRefused !== undefined) {
    reply.header('x-ferry-base-refused', encodeURIComponent(bundle.baseRefused));
  }
  return reply.send(bundle.stream);
}

/**
 * Ferry's bundle routes: `GET .../export` streams a bundle; `POST /api/conversations/import`
 * takes one as the raw body (`application/gzip` or `application/octet-stream`, the agent in the
 * `X-Ferry-Agent` header as base64 JSON) or as `multipart/form-data` (a `bundle` file and an
 * `agent` JSON field); `POST .../mark_teleported` parks a conversation that left.
 */
export async function bundleRoutes(
  app: FastifyInstance,
  options: BundleRoutesOptions,
): Promise<void> {
  const { manager, maxBundleBytes } = options;
  // Bundles are imported as they arrive, never buffered whole in the request.
  app.addContentTypeParser(BUNDLE_TYPES, (_request, payload, done) => done(null, payload));
  await app.register(multipart, {
    limits: { fileSize: maxBundleBytes, files: 1, fields: 4, fieldSize: 1024 * 1024 },
  });
  const routes = app.withTypeProvider<ZodTypeProvider>();

  // Typed by hand: the answer is a stream, which the zod type provider cannot express.
  app.get<{
    Params: z.output<typeof conversationParamsSchema>;
    Querystring: z.output<typeof exportQuerySchema>;
  }>(
    '/api/conversations/:conversation_id/export',
    {
      schema: {
        tags,
        summary: 'Export the conversation as a bundle (.tar.gz, secrets redacted)',
        params: conversationParamsSchema,
        querystring: exportQuerySchema,
        response: bundleResponses,
      },
    },
    async (request, reply) =>
      sendBundle(
        reply,
        await manager.bundles.exportBundle(request.params.conversation_id, {
          includeWorkspace: request.query.include_workspace,
        }),
      ),
  );

  app.post<{
    Params: z.output<typeof conversationParamsSchema>;
    Body: z.output<typeof deltaExportRequestSchema>;
  }>(
    '/api/conversations/:conversation_id/export',
    {
      schema: {
        tags,
        summary: 'Export only what a destination lacks (a delta bundle), given what it holds',
        description:
          'Answers a version 2 (delta) bundle extending `base` when the destination’s copy is a ' +
          'byte-for-byte prefix of this one, else the whole conversation (version 1) with ' +
          '`X-Ferry-Base-Refused` saying why.',
        params: conversationParamsSchema,
        body: deltaExportRequestSchema,
        response: bundleResponses,
      },
    },
    async (request, reply) =>
      sendBundle(
        reply,
        await manager.bundles.exportBundle(request.params.conversation_id, {
          includeWorkspace: request.body.include_workspace,
          base: request.body.base,
        }),
      ),
  );

  routes.get(
    '/api/conversations/:conversation_id/bundle_base',
    {
      schema: {
        tags,
        summary: 'What this server holds of a conversation, for a delta teleport',
        description:
          'Every file of its copy but the state, with its size and SHA-256 (and the working ' +
          "folder's files with `include_workspace`). A teleport sends it to the source, which " +
          'answers a delta bundle; 404 when there is no copy here.',
        params: conversationParamsSchema,
        querystring: bundleBaseQuerySchema,
        response: { 200: bundleBaseResponseSchema, ...commonErrorResponses },
      },
    },
    async (request) => {
      const id = request.params.conversation_id;
      const base = await manager.bundles.bundleBase(id, {
        includeWorkspace: request.query.include_workspace,
        workingDir: request.query.working_dir,
      });
      if (base === undefined) throw serverErrors.conversationNotFound(id);
      return { base };
    },
  );

  routes.post(
    '/api/conversations/import',
    {
      bodyLimit: maxBundleBytes,
      schema: {
        tags,
        summary: 'Import a conversation bundle (checked: format, version, checksums, paths, sizes)',
        description:
          'Send the bundle as the raw body (`application/gzip`), with an optional agent in the ' +
          '`X-Ferry-Agent` header (base64 of its JSON), or as `multipart/form-data` with an ' +
          '`agent` JSON field and a `bundle` file. The agent is verified like a resume (same ' +
          'kind, no tool removed); its keys are used, and persisted only encrypted.',
        querystring: importQuerySchema,
        response: {
          201: importResponseSchema,
          409: errorResponseSchema.describe('A conversation with that id exists'),
          413: errorResponseSchema.describe('The bundle is too large'),
          422: errorResponseSchema.describe('Not a valid bundle, or an incompatible agent'),
          401: commonErrorResponses[401],
        },
      },
    },
    async (request, reply) => {
      const upload = await receiveUpload(request, maxBundleBytes);
      if (upload === undefined) {
        throw new FerryError('BUNDLE_INVALID', 'Send the bundle as a file field named "bundle".');
      }
      try {
        const query = request.query;
        // Imported as it arrives: each entry is checked while the next is on its way.
        const { record, manifest } = await manager.bundles.importBundle({
          source: upload.source,
          agent: upload.agent,
          finishUpload: () => upload.finish(),
          workingDir: query.working_dir,
          overwrite: query.overwrite,
          maxBytes: maxBundleBytes,
          ...(query.teleport_from === undefined
            ? {}
            : {
                arrival: {
                  from: query.teleport_from,
                  to: `${request.protocol}://${request.host}`,
                  pending: query.pending,
                },
              }),
        });
        return await reply.code(201).send({ conversation: toConversationInfo(record), manifest });
      } catch (error) {
        await upload.discard();
        throw error;
      }
    },
  );

  routes.post(
    '/api/conversations/:conversation_id/arrive',
    {
      schema: {
        tags,
        summary: 'Confirm the arrival of a conversation imported pending',
        description:
          'Makes a conversation imported with `pending=true` runnable here and records its ' +
          'arrival (a TeleportEvent). Answers success again for a conversation that already ' +
          'arrived; 409 BUNDLE_CONFLICT when it is parked for another bundle.',
        params: conversationParamsSchema,
        body: arriveRequestSchema,
        response: {
          200: successSchema,
          409: errorResponseSchema.describe('Parked here for another bundle'),
          ...commonErrorResponses,
        },
      },
    },
    async (request) => {
      await manager.bundles.confirmArrival(
        request.params.conversation_id,
        request.body.bundle_id,
        `${request.protocol}://${request.host}`,
      );
      return { success: true };
    },
  );

  routes.post(
    '/api/conversations/:conversation_id/mark_teleported',
    {
      schema: {
        tags,
        summary: 'Park the conversation here after it teleported elsewhere',
        description:
          'From then on it refuses to run or change (409 CONVERSATION_TELEPORTED, with `to`) ' +
          'until a bundle of it is imported back. Send the `event_count` and `last_event_id` of ' +
          'the exported bundle so events appended since the export are never left behind.',
        params: conversationParamsSchema,
        body: markTeleportedRequestSchema,
        response: {
          200: successSchema,
          409: errorResponseSchema.describe(
            'The conversation is running or already parked (CONVERSATION_TELEPORTED), or it ' +
              'changed since the export named by `event_count` / `last_event_id` ' +
              '(BUNDLE_SOURCE_CHANGED; it stays here, not parked)',
          ),
          ...commonErrorResponses,
        },
      },
    },
    async (request) => {
      const body = request.body;
      const destination = {
        to: body.to,
        ...(body.bundle_id === undefined ? {} : { bundleId: body.bundle_id }),
      };
      const expected = {
        ...(body.event_count === undefined ? {} : { eventCount: body.event_count }),
        ...(body.last_event_id === undefined ? {} : { lastEventId: body.last_event_id }),
      };
      await manager.bundles.markTeleported(
        request.params.conversation_id,
        destination,
        expected.eventCount === undefined && expected.lastEventId === undefined
          ? undefined
          : expected,
      );
      return { success: true };
    },
  );
}
