import type {} from '@fastify/swagger';
import { redactState } from '@ferry/sdk-core';
import type { ConversationState, ConversationStore } from '@ferry/sdk-core';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { canonicalConversationId, folderOf } from '../conversations/conversation-id';
import type { ConversationManager } from '../conversations/conversation-manager';
import { serverErrors } from '../errors/http-status';
import { zipArchive, type ZipEntry } from '../http/zip-archive';
import {
  commonErrorResponses,
  conversationParamsSchema,
  successSchema,
} from '../schemas/common-schemas';
import { storedEventSchema } from '../schemas/event-schemas';
import { readGetBody } from './request-body';

/** Options of {@link conversationExtraRoutes}. */
export interface ConversationExtraRoutesOptions {
  manager: ConversationManager;
}

const tags = ['Conversations'];

const eventIdsSchema = z.array(z.string()).max(100);

const batchQuerySchema = z.object({
  event_ids: z
    .union([z.string(), eventIdsSchema])
    .optional()
    .describe('The ids, repeated (`?event_ids=a&event_ids=b`); or send them as a JSON list body'),
});

const securityAnalyzerRequestSchema = z.object({
  security_analyzer: z
    .looseObject({ kind: z.string() })
    .nullable()
    .describe('The analyzer (e.g. `{"kind": "LLMSecurityAnalyzer"}`), or null to remove it'),
});

type LoggedEvent = Record<string, unknown>;

const MAX_GET_BODY_BYTES = 64 * 1024;

/** The text parts of a message content list, joined. */
function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  let text = '';
  for (const part of content as unknown[]) {
    const { type, text: value } = (part ?? {}) as { type?: unknown; text?: unknown };
    if (type === 'text' && typeof value === 'string') text += value;
  }
  return text;
}

/**
 * What the agent said last, as OpenHands computes it: the message of the last `finish` action,
 * or the text of the last agent message, whichever is later; `''` when there is neither.
 */
export function agentFinalResponse(events: readonly LoggedEvent[]): string {
  for (let index = events.length - 1; index >= 0; index--) {
    const event = events[index];
    if (event?.source !== 'agent') continue;
    if (event.kind === 'ActionEvent' && event.tool_name === 'finish') {
      const action = event.action as { kind?: unknown; message?: unknown } | null | undefined;
      return action?.kind === 'FinishAction' && typeof action.message === 'string'
        ? action.message
        : '';
    }
    if (event.kind === 'MessageEvent') {
      return textOf((event.llm_message as { content?: unknown } | undefined)?.content);
    }
  }
  return '';
}

/**
 * OpenHands conversation routes beyond the core loop: the agent's final response, events by
 * id in one request, the security analyzer, and the trajectory as a zip.
 */
export function conversationExtraRoutes(
  app: FastifyInstance,
  { manager }: ConversationExtraRoutesOptions,
): void {
  const routes = app.withTypeProvider<ZodTypeProvider>();

  routes.get(
    '/api/conversations/:conversation_id/agent_final_response',
    {
      schema: {
        tags,
        summary: "The agent's final response",
        description:
          'The message of the last `finish` action, or the text of the last agent message; ' +
          '`""` before the agent has said anything.',
        params: conversationParamsSchema,
        response: { 200: z.object({ response: z.string() }), ...commonErrorResponses },
      },
    },
    async (request) =>
      manager.use(request.params.conversation_id, (entry) => ({
        response: agentFinalResponse(entry.conversation.events.raw() as unknown as LoggedEvent[]),
      })),
  );

  routes.get(
    '/api/conversations/:conversation_id/events',
    {
      schema: {
        tags: ['Events'],
        summary: 'Events by id, `null` for an unknown one',
        description:
          'The ids come as a JSON list body, as OpenHands reads them, or as repeated ' +
          '`event_ids` query parameters; at most 100. The answer keeps their order.',
        params: conversationParamsSchema,
        querystring: batchQuerySchema,
        response: { 200: z.array(storedEventSchema.nullable()), ...commonErrorResponses },
      },
    },
    async (request) => {
      const fromQuery = request.query.event_ids;
      const ids =
        fromQuery === undefined
          ? ((await readGetBody(request, eventIdsSchema.optional(), MAX_GET_BODY_BYTES)) ?? [])
          : [fromQuery].flat();
      return manager.use(request.params.conversation_id, (entry) => {
        const events = entry.conversation.events;
        return ids.map((id) => {
          const index = events.indexOf(id);
          return index < 0 ? null : (events.raw()[index] ?? null);
        });
      });
    },
  );

  routes.post(
    '/api/conversations/:conversation_id/security_analyzer',
    {
      schema: {
        tags,
        summary: 'Set or remove the security analyzer',
        description:
          'Recorded in the state (a `ConversationStateUpdateEvent` with key ' +
          '`security_analyzer`). With an analyzer, the `confirm_risky` policy reads the risk ' +
          'the LLM gives each action; Ferry runs no analyzer model of its own.',
        params: conversationParamsSchema,
        body: securityAnalyzerRequestSchema,
        response: { 200: successSchema, ...commonErrorResponses },
      },
    },
    async (request) => {
      const analyzer = request.body.security_analyzer;
      await manager.use(request.params.conversation_id, (entry) =>
        entry.conversation.updateState(
          { security_analyzer: analyzer },
          { record: 'security_analyzer' },
        ),
      );
      return { success: true };
    },
  );

  routes.get(
    '/api/file/download-trajectory/:conversation_id',
    {
      schema: {
        tags: ['Files'],
        summary: "A zip of the conversation's folder",
        description:
          '`<id>/base_state.json` (secrets redacted) and the event log as Ferry stores it ' +
          "(`events/segment-*.jsonl`; OpenHands' folder has one JSON file per event).",
        params: conversationParamsSchema,
        response: {
          200: {
            description: 'The zip archive',
            content: { 'application/octet-stream': { schema: z.any() } },
          },
          ...commonErrorResponses,
        },
      },
    },
    async (request, reply) => {
      const id = request.params.conversation_id;
      // 404 for an unknown conversation; an open one has every event on disk already.
      await manager.get(id);
      const canonical = canonicalConversationId(id) ?? id;
      const shared = manager.clusterStore;
      const entries =
        shared === undefined
          ? await trajectoryEntries(
              join(manager.conversationsDir, folderOf(canonical)),
              folderOf(canonical),
            )
          : await storedTrajectoryEntries(shared, canonical);
      if (entries.length === 0) throw serverErrors.conversationNotFound(id);
      return reply
        .type('application/octet-stream')
        .header('content-disposition', `attachment; filename="${folderOf(canonical)}.zip"`)
        .send(zipArchive(entries));
    },
  );
}

/** The files of a conversation folder for its trajectory zip, the state redacted. */
async function trajectoryEntries(folder: string, name: string): Promise<ZipEntry[]> {
  const entries: ZipEntry[] = [];
  const walk = async (relative: string): Promise<void> => {
    const listing = await readdir(join(folder, relative), { withFileTypes: true }).catch(() => []);
    for (const entry of listing.sort((a, b) => a.name.localeCompare(b.name))) {
      const path = relative === '' ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile() && !entry.name.startsWith('.')) {
        const data = await readFile(join(folder, path));
        entries.push({
          name: `${name}/${path}`,
          data: path === 'base_state.json' ? redactedState(data) : data,
        });
      }
    }
  };
  await walk('');
  return entries;
}

/**
 * The same zip for a conversation kept in a database (`--database-url`): its state, redacted,
 * and its event log as one segment of the lines the store holds.
 */
async function storedTrajectoryEntries(store: ConversationStore, id: string): Promise<ZipEntry[]> {
  const state = await store.readState(id);
  if (state === undefined) return [];
  const events = await store.readEvents(id);
  const log = events.map((event) => `${JSON.stringify(event)}\n`).join('');
  return [
    {
      name: `${folderOf(id)}/base_state.json`,
      data: redactedState(Buffer.from(JSON.stringify(state))),
    },
    { name: `${folderOf(id)}/events/segment-000001.jsonl`, data: Buffer.from(log) },
  ];
}

function redactedState(data: Buffer): Buffer {
  const state = JSON.parse(data.toString('utf8')) as ConversationState;
  return Buffer.from(`${JSON.stringify(redactState(state), null, 2)}\n`);
}
