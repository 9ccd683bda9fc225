import type {} from '@fastify/swagger';
import { gitChangeSchema, gitDiffSchema } from '@ferry/sdk-core';
import type { SandboxOptions } from '@ferry/workspace-local';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { serverErrors } from '../errors/http-status';
import { RouteWorkspaces } from './route-workspaces';

/** Options of {@link gitRoutes}. */
export interface GitRoutesOptions {
  /** Repositories are read only inside this folder. */
  workspaceRoot: string;
  /** Run git in bubblewrap sandboxes (see {@link RouteWorkspaces}). */
  sandbox?: boolean | SandboxOptions | undefined;
}

const TAGS = ['Git'];

const refSchema = z
  .string()
  .optional()
  .describe('What to compare with. Ferry compares with `HEAD` only; another ref answers 400.');

const changesQuerySchema = z.object({
  path: z
    .string()
    .min(1)
    .describe('The repository (or a folder of repositories) inside the workspace root.'),
  ref: refSchema,
});

const diffQuerySchema = z.object({
  path: z.string().min(1).describe('The file inside the workspace root.'),
  ref: refSchema,
  commit: z.string().optional().describe('Not supported by Ferry; answers 400 when given.'),
});

/**
 * OpenHands' `/api/git/changes` and `/api/git/diff`: how files differ from `HEAD`, confined
 * to the workspace root.
 */
// eslint-disable-next-line @typescript-eslint/require-await -- a Fastify plugin; nothing to await
export async function gitRoutes(app: FastifyInstance, options: GitRoutesOptions): Promise<void> {
  const workspaces = new RouteWorkspaces(options);
  app.addHook('onClose', () => workspaces.close());
  const routes = app.withTypeProvider<ZodTypeProvider>();

  routes.get(
    '/api/git/changes',
    {
      schema: {
        tags: TAGS,
        summary: 'Files that differ from HEAD',
        description:
          'Staged, unstaged and untracked files, with paths relative to `path`; empty outside ' +
          'a repository. OpenHands compares with the upstream branch by default, Ferry with ' +
          '`HEAD`.',
        querystring: changesQuerySchema,
        response: { 200: z.array(gitChangeSchema) },
      },
    },
    async (request) => {
      const { path, ref } = request.query;
      if (ref !== undefined && ref !== 'HEAD') {
        throw serverErrors.gitOptionNotSupported('ref', ref);
      }
      const target = workspaces.for(path);
      return target.workspace.gitChanges(target.path);
    },
  );

  routes.get(
    '/api/git/diff',
    {
      schema: {
        tags: TAGS,
        summary: 'A file at HEAD and on disk',
        description:
          '`original` is the text at `HEAD` (`null` for a new file), `modified` the text on ' +
          'disk (`null` for a deleted one). 422 `WORKSPACE_GIT_ERROR` when the file is not in a repository.',
        querystring: diffQuerySchema,
        response: { 200: gitDiffSchema },
      },
    },
    async (request) => {
      const { path, ref, commit } = request.query;
      if (ref !== undefined && ref !== 'HEAD') {
        throw serverErrors.gitOptionNotSupported('ref', ref);
      }
      if (commit !== undefined) throw serverErrors.gitOptionNotSupported('commit', commit);
      const target = workspaces.for(path);
      return target.workspace.gitDiff(target.path);
    },
  );
}
