import type {} from '@fastify/swagger';
import type { SandboxOptions } from '@ferry/workspace-local';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ApiKeyCheck } from '../auth/api-key-check';
import { serverErrors } from '../errors/http-status';
import { bashEventSocketRoute } from '../sockets/bash-event-socket';
import {
  bashCommandSchema,
  bashEventPageSchema,
  bashEventSchema,
  bashEventSearchQuerySchema,
  bashOutputSchema,
  executeBashRequestSchema,
} from './bash-event';
import { BashCommandRunner } from './bash-command-runner';
import { BashEventStore } from './bash-event-store';
import { acceptEmptyJsonBodies, readGetBody } from './request-body';
import { RouteWorkspaces } from './route-workspaces';

/** Options of {@link bashRoutes}. */
export interface BashRoutesOptions {
  /** Commands run here by default; a request's `cwd` must lie inside it. */
  workspaceRoot: string;
  /** Run the commands in bubblewrap sandboxes (see {@link RouteWorkspaces}). */
  sandbox?: boolean | SandboxOptions | undefined;
  /** Bash events kept in memory at most; the oldest go first. Default 10,000. */
  maxEvents?: number;
  /** Characters of commands and output kept in memory at most. Default 32 Mi. */
  maxEventTextLength?: number;
  /** Keys the `/sockets/bash-events` socket accepts (it authenticates by itself); none: no auth. */
  apiKeys?: ApiKeyCheck;
}

/** Largest body of the batch `GET bash_events/`: a JSON list of event ids. */
const BATCH_BODY_LIMIT = 1024 * 1024;

const TAGS = ['Bash'];

/**
 * OpenHands' `/api/bash` routes: run a command and wait for it, or start it in the
 * background and follow its events (`bash_events/search`). Events live in memory, per
 * plugin instance, bounded; closing the server kills the commands still running.
 */
// eslint-disable-next-line @typescript-eslint/require-await -- a Fastify plugin; nothing to await
export async function bashRoutes(app: FastifyInstance, options: BashRoutesOptions): Promise<void> {
  const workspaces = new RouteWorkspaces(options);
  const events = new BashEventStore({
    maxEvents: options.maxEvents ?? 10_000,
    maxTextLength: options.maxEventTextLength ?? 32 * 1024 * 1024,
  });
  const runner = new BashCommandRunner({ workspaces, events });
  app.addHook('onClose', async () => {
    await runner.close();
    await workspaces.close();
  });
  acceptEmptyJsonBodies(app);
  if (app.hasDecorator('websocketServer')) {
    bashEventSocketRoute(app, {
      events,
      runner,
      ...(options.apiKeys === undefined ? {} : { apiKeys: options.apiKeys }),
    });
  }
  const routes = app.withTypeProvider<ZodTypeProvider>();

  routes.post(
    '/api/bash/execute_bash_command',
    {
      schema: {
        tags: TAGS,
        summary: 'Run a command and wait for it',
        description:
          'Answers the last output piece of the command, with its exit code (`-1` after a ' +
          'timeout) and, unlike OpenHands, its whole stdout and stderr.',
        body: executeBashRequestSchema,
        response: { 200: bashOutputSchema },
      },
    },
    async (request) => {
      const { finished } = await runner.start(request.body);
      const { last, stdout, stderr } = await finished;
      return {
        ...last,
        stdout: stdout === '' ? null : stdout,
        stderr: stderr === '' ? null : stderr,
      };
    },
  );

  routes.post(
    '/api/bash/start_bash_command',
    {
      schema: {
        tags: TAGS,
        summary: 'Start a command in the background',
        description: 'Its output is recorded as `BashOutput` events; follow them with search.',
        body: executeBashRequestSchema,
        response: { 200: bashCommandSchema },
      },
    },
    async (request) => (await runner.start(request.body)).command,
  );

  routes.get(
    '/api/bash/bash_events/search',
    {
      schema: {
        tags: TAGS,
        summary: 'Search bash events',
        querystring: bashEventSearchQuerySchema,
        response: { 200: bashEventPageSchema },
      },
    },
    (request) => events.search(request.query),
  );

  routes.get(
    '/api/bash/bash_events/:event_id',
    {
      schema: {
        tags: TAGS,
        summary: 'Get a bash event',
        params: z.object({ event_id: z.string() }),
        response: { 200: bashEventSchema },
      },
    },
    (request) => {
      const event = events.get(request.params.event_id);
      if (event === undefined) throw serverErrors.bashEventNotFound(request.params.event_id);
      return event;
    },
  );

  routes.get(
    '/api/bash/bash_events/',
    {
      schema: {
        tags: TAGS,
        summary: 'Get bash events by id',
        description:
          'The body (on this GET, as in OpenHands) is a JSON list of event ids; the answer ' +
          'has one entry per id, `null` for an unknown one.',
        response: { 200: z.array(bashEventSchema.nullable()) },
      },
    },
    async (request) => {
      const ids = await readGetBody(request, z.array(z.string()), BATCH_BODY_LIMIT);
      return ids.map((id) => events.get(id) ?? null);
    },
  );

  routes.delete(
    '/api/bash/bash_events',
    {
      schema: {
        tags: TAGS,
        summary: 'Forget every bash event',
        response: { 200: z.object({ cleared_count: z.number().int() }) },
      },
    },
    () => ({ cleared_count: events.clear() }),
  );
}
