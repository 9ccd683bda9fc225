import { planResume } from '@ferry/sdk-core';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ConversationManager } from '../conversations/conversation-manager';
import { searchConversations, toConversationInfo } from '../conversations/conversation-info';
import { WORKING_DIR_MOVED_HEADER, workingDirMovedHeader } from '../conversations/working-dir';
import { serverErrors } from '../errors/http-status';
import {
  commonErrorResponses,
  conversationParamsSchema,
  errorResponseSchema,
  successSchema,
} from '../schemas/common-schemas';
import {
  askAgentRequestSchema,
  askAgentResponseSchema,
  batchGetQuerySchema,
  conversationCountQuerySchema,
  conversationInfoSchema,
  conversationPageSchema,
  conversationSearchQuerySchema,
  forkConversationRequestSchema,
  replaceAgentRequestSchema,
  replaceAgentResponseSchema,
  setConfirmationPolicyRequestSchema,
  startConversationRequestSchema,
  switchLlmRequestSchema,
  updateConversationRequestSchema,
  updateSecretsRequestSchema,
  type SecretValue,
} from '../schemas/conversation-schemas';
import { unknownAsBadRequest, unknownConversationResponse } from './unknown-conversation';

/** Options of {@link conversationRoutes}. */
export interface ConversationRoutesOptions {
  manager: ConversationManager;
}

function secretValues(secrets: Record<string, SecretValue>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(secrets).map(([name, value]) => [
      name,
      typeof value === 'string' ? value : value.value,
    ]),
  );
}

const tags = ['Conversations'];

/** The OpenHands conversation routes, plus Ferry's `PUT .../agent`. */
export function conversationRoutes(
  app: FastifyInstance,
  { manager }: ConversationRoutesOptions,
): void {
  const routes = app.withTypeProvider<ZodTypeProvider>();
  const success = { success: true } as const;

  routes.post(
    '/api/conversations',
    {
      schema: {
        tags,
        summary: 'Start a conversation (an existing conversation_id returns it unchanged)',
        description:
          'A `workspace.working_dir` outside the workspace root is not used: the conversation ' +
          'works in its own folder under the root (`workspace.working_dir` of the answer) and the ' +
          'answer carries `X-Ferry-Working-Dir-Moved` with the requested path, percent-encoded.',
        body: startConversationRequestSchema,
        response: {
          200: conversationInfoSchema.describe('The conversation already existed'),
          201: conversationInfoSchema.describe('Created'),
          401: commonErrorResponses[401],
          422: commonErrorResponses[422],
        },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const initialRole = body.initial_message?.role ?? 'user';
      if (initialRole !== 'user') throw serverErrors.messageRoleNotSupported(initialRole);
      const { record, created } = await manager.create({
        conversationId: body.conversation_id,
        agent: body.agent,
        workingDir: body.workspace.working_dir,
        maxIterations: body.max_iterations,
        stuckDetection: body.stuck_detection,
        confirmationPolicy: body.confirmation_policy,
        securityAnalyzer: body.security_analyzer,
        secrets: body.secrets === undefined ? undefined : secretValues(body.secrets),
        tags: body.tags,
        title: body.title,
        autotitle: body.autotitle,
        titleLlmProfile: body.title_llm_profile,
        initialMessage:
          body.initial_message == null
            ? undefined
            : { content: body.initial_message.content, run: body.initial_message.run },
      });
      const moved = created
        ? workingDirMovedHeader({
            workspaceRoot: manager.workspaceRoot,
            requested: body.workspace.working_dir,
            actual: record.state.workspace.working_dir,
          })
        : undefined;
      if (moved !== undefined) reply.header(WORKING_DIR_MOVED_HEADER, moved);
      return reply.code(created ? 201 : 200).send(toConversationInfo(record));
    },
  );

  routes.get(
    '/api/conversations/search',
    {
      schema: {
        tags,
        summary: 'List conversations, a page at a time (reads only state files)',
        querystring: conversationSearchQuerySchema,
        response: { 200: conversationPageSchema, 401: commonErrorResponses[401] },
      },
    },
    async (request) => {
      const query = request.query;
      return searchConversations(await manager.list(), {
        pageId: query.page_id,
        limit: query.limit,
        status: query.status,
        sortOrder: query.sort_order,
      });
    },
  );

  routes.get(
    '/api/conversations/count',
    {
      schema: {
        tags,
        summary: 'Count conversations',
        querystring: conversationCountQuerySchema,
        response: { 200: z.number().int(), 401: commonErrorResponses[401] },
      },
    },
    async (request) => {
      const status = request.query.status;
      const records = await manager.list();
      return records.filter((record) => status == null || record.state.execution_status === status)
        .length;
    },
  );

  routes.get(
    '/api/conversations',
    {
      schema: {
        tags,
        summary: 'Get several conversations by id (null for unknown ones)',
        querystring: batchGetQuerySchema,
        response: {
          200: z.array(conversationInfoSchema.nullable()),
          401: commonErrorResponses[401],
        },
      },
    },
    async (request) => {
      const records = await Promise.all(request.query.ids.map((id) => manager.find(id)));
      return records.map((record) => (record === undefined ? null : toConversationInfo(record)));
    },
  );

  routes.get(
    '/api/conversations/:conversation_id',
    {
      schema: {
        tags,
        summary: 'Get a conversation',
        params: conversationParamsSchema,
        response: { 200: conversationInfoSchema, ...commonErrorResponses },
      },
    },
    async (request) => toConversationInfo(await manager.get(request.params.conversation_id)),
  );

  routes.delete(
    '/api/conversations/:conversation_id',
    {
      schema: {
        tags,
        summary: 'Delete a conversation (its run is interrupted; workspace files stay)',
        params: conversationParamsSchema,
        response: { 200: successSchema, 400: unknownConversationResponse, ...commonErrorResponses },
      },
    },
    async (request, reply) =>
      unknownAsBadRequest(reply, async () => {
        await manager.delete(request.params.conversation_id);
        return success;
      }),
  );

  routes.patch(
    '/api/conversations/:conversation_id',
    {
      schema: {
        tags,
        summary: 'Set the title and/or tags',
        params: conversationParamsSchema,
        body: updateConversationRequestSchema,
        response: { 200: successSchema, ...commonErrorResponses },
      },
    },
    async (request) => {
      const { title, tags: newTags } = request.body;
      await manager.use(request.params.conversation_id, (entry) =>
        entry.conversation.updateMetadata({
          ...(title === undefined ? {} : { title }),
          ...(newTags == null ? {} : { tags: newTags }),
        }),
      );
      return success;
    },
  );

  const conflict = errorResponseSchema.describe('The conversation is running, or was teleported');

  routes.post(
    '/api/conversations/:conversation_id/run',
    {
      schema: {
        tags,
        summary: 'Start running the agent in the background',
        params: conversationParamsSchema,
        response: { 200: successSchema, 409: conflict, ...commonErrorResponses },
      },
    },
    async (request) => {
      await manager.use(request.params.conversation_id, (entry) => entry.startRun());
      return success;
    },
  );

  routes.post(
    '/api/conversations/:conversation_id/pause',
    {
      schema: {
        tags,
        summary: 'Pause after the current step',
        params: conversationParamsSchema,
        response: { 200: successSchema, 400: unknownConversationResponse, ...commonErrorResponses },
      },
    },
    async (request, reply) =>
      unknownAsBadRequest(reply, async () => {
        await manager.use(request.params.conversation_id, (entry) => entry.conversation.pause());
        return success;
      }),
  );

  routes.post(
    '/api/conversations/:conversation_id/interrupt',
    {
      schema: {
        tags,
        summary: 'Abort the LLM call or tool in flight; answers once the run has stopped',
        description:
          'Records an `InterruptEvent` after the status becomes `paused`. An idle conversation ' +
          'is paused instead (a `PauseEvent`), as on OpenHands.',
        params: conversationParamsSchema,
        response: { 200: successSchema, 400: unknownConversationResponse, ...commonErrorResponses },
      },
    },
    async (request, reply) =>
      unknownAsBadRequest(reply, async () => {
        await manager.use(request.params.conversation_id, (entry) =>
          // OpenHands falls back to a pause when no run is going (its pause acts when idle).
          !entry.conversation.isRunning && entry.conversation.status === 'idle'
            ? entry.conversation.pause()
            : entry.conversation.interrupt(),
        );
        return success;
      }),
  );

  routes.post(
    '/api/conversations/:conversation_id/confirmation_policy',
    {
      schema: {
        tags,
        summary: 'Set when the agent waits for confirmation',
        params: conversationParamsSchema,
        body: setConfirmationPolicyRequestSchema,
        response: { 200: successSchema, ...commonErrorResponses },
      },
    },
    async (request) => {
      await manager.use(request.params.conversation_id, (entry) =>
        entry.conversation.setConfirmationPolicy(request.body.policy),
      );
      return success;
    },
  );

  routes.post(
    '/api/conversations/:conversation_id/secrets',
    {
      schema: {
        tags,
        summary: 'Add or replace named secrets (never returned, never written in plaintext)',
        params: conversationParamsSchema,
        body: updateSecretsRequestSchema,
        response: { 200: successSchema, ...commonErrorResponses },
      },
    },
    async (request) => {
      await manager.use(request.params.conversation_id, (entry) =>
        entry.conversation.setSecrets(secretValues(request.body.secrets)),
      );
      return success;
    },
  );

  routes.post(
    '/api/conversations/:conversation_id/switch_llm',
    {
      schema: {
        tags,
        summary: "Replace the agent's LLM (verified like a resume)",
        params: conversationParamsSchema,
        body: switchLlmRequestSchema,
        response: { 200: successSchema, 409: conflict, ...commonErrorResponses },
      },
    },
    async (request) => {
      await manager.use(request.params.conversation_id, async (entry) => {
        await entry.settle();
        await entry.conversation.setAgent({ ...entry.conversation.agent, llm: request.body.llm });
      });
      return success;
    },
  );

  routes.post(
    '/api/conversations/:conversation_id/fork',
    {
      schema: {
        tags,
        summary: 'Copy the conversation (up to from_event_id) into a new idle one',
        params: conversationParamsSchema,
        body: forkConversationRequestSchema.default({}),
        response: { 201: conversationInfoSchema, 409: conflict, ...commonErrorResponses },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const record = await manager.fork(request.params.conversation_id, {
        conversationId: body.id,
        fromEventId: body.from_event_id,
        title: body.title,
        tags: body.tags,
      });
      return reply.code(201).send(toConversationInfo(record));
    },
  );

  routes.post(
    '/api/conversations/:conversation_id/ask_agent',
    {
      schema: {
        tags,
        summary: 'Ask the agent a question without changing the conversation',
        params: conversationParamsSchema,
        body: askAgentRequestSchema,
        response: { 200: askAgentResponseSchema, ...commonErrorResponses },
      },
    },
    async (request) => {
      const response = await manager.use(request.params.conversation_id, (entry) =>
        entry.conversation.askAgent(request.body.question),
      );
      return { response };
    },
  );

  routes.post(
    '/api/conversations/:conversation_id/condense',
    {
      schema: {
        tags,
        summary: 'Condense the history now',
        params: conversationParamsSchema,
        response: { 200: successSchema, 409: conflict, ...commonErrorResponses },
      },
    },
    async (request) => {
      await manager.use(request.params.conversation_id, (entry) => entry.conversation.condense());
      return success;
    },
  );

  routes.put(
    '/api/conversations/:conversation_id/agent',
    {
      schema: {
        tags: ['Ferry extensions'],
        summary: "Replace the conversation's agent (verified: same kind, no tool removed)",
        description:
          'The remote counterpart of resuming with a changed agent. 409 while the conversation ' +
          'runs; 422 with `problems` when the agent is incompatible. The new model, prompts and ' +
          'tools take effect from the next LLM call.',
        params: conversationParamsSchema,
        body: replaceAgentRequestSchema,
        response: {
          200: replaceAgentResponseSchema,
          409: conflict,
          ...commonErrorResponses,
        },
      },
    },
    async (request, reply) => {
      const outcome = await manager.use(request.params.conversation_id, async (entry) => {
        await entry.settle();
        const verdict = planResume(request.body.agent, entry.conversation.agent);
        if (!verdict.compatible) return { verdict, plan: undefined };
        return { verdict, plan: await entry.conversation.setAgent(request.body.agent) };
      });
      if (outcome.plan === undefined) {
        const { problems } = outcome.verdict;
        const first = problems[0];
        return reply.code(422).send({
          code: first?.code ?? 'AGENT_INCOMPATIBLE',
          detail: problems.map((problem) => problem.message).join(' '),
          problems,
          ...(first?.code === 'TOOLS_REMOVED' ? { removed: first.removed } : {}),
        });
      }
      const { compatible, problems, changes } = outcome.plan;
      return reply.code(200).send({ plan: { compatible, problems, changes } });
    },
  );
}
