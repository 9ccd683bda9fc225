import type {} from '@fastify/swagger';
import { gitChangeSchema, gitCommitsPageSchema, gitDiffSchema } from '@ferry/sdk-core';
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

/**
 * The response header set (to `not-a-repository`) when `/api/git/diff` answers an empty diff
 * because the file is in no repository. OpenHands' clients ignore it; Ferry's own
 * `RemoteWorkspace` turns it back into a `WorkspaceGitError`.
 */
export const GIT_REPOSITORY_HEADER = 'x-ferry-git-repository';

const TAGS = ['Git'];

/** Hex only, as OpenHands checks it: a commit can never reach git as an option. */
const shaSchema = z
  .string()
  .regex(/^[0-9a-fA-F]{4,64}$/)
  .describe('A commit id (4 to 64 hex digits)');

const refSchema = z
  .string()
  .optional()
  .describe(
    'What to compare with: `HEAD` (the default in Ferry), a branch, a tag or a commit. One ' +
      'that names no commit answers 400.',
  );

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
  commit: shaSchema
    .optional()
    .describe('Show the change this commit made to the file (against its first parent) instead.'),
});

const commitsQuerySchema = z.object({
  path: z.string().min(1).describe('The repository inside the workspace root.'),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(200)
    .default(50)
    .describe('Most commits to return (1 to 200).'),
});

const commitChangesParamsSchema = z.object({ sha: shaSchema });
const commitChangesQuerySchema = z.object({
  path: z.string().min(1).describe('The repository inside the workspace root.'),
});

/**
 * OpenHands' git routes: how files differ from `HEAD` or another commit, the history and what
 * one commit changed, confined to the workspace root. Outside a repository they answer empty,
 * as OpenHands does.
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
        summary: 'Files that differ from HEAD or a ref',
        description:
          'Staged, unstaged and untracked files, with paths relative to `path`; empty outside ' +
          'a repository. Without `ref`, OpenHands compares with the upstream branch, Ferry ' +
          'with `HEAD`.',
        querystring: changesQuerySchema,
        response: { 200: z.array(gitChangeSchema) },
      },
    },
    async (request) => {
      const { path, ref } = request.query;
      const { workspace, path: target } = workspaces.for(path);
      return workspace.gitChanges(target, ref === undefined ? {} : { ref });
    },
  );

  routes.get(
    '/api/git/diff',
    {
      schema: {
        tags: TAGS,
        summary: 'A file at HEAD (or a ref) and on disk, or as a commit changed it',
        description:
          '`original` is the text at `ref` (default `HEAD`; `null` for a new file), `modified` ' +
          'the text on disk (`null` for a deleted one). With `commit`: the file at its first ' +
          'parent and at the commit. Outside a repository both are `null` (and the header ' +
          '`X-Ferry-Git-Repository: not-a-repository` is set). `ref` with `commit` is 400.',
        querystring: diffQuerySchema,
        response: { 200: gitDiffSchema },
      },
    },
    async (request, reply) => {
      const { path, ref, commit } = request.query;
      const { workspace, path: target } = workspaces.for(path);
      if (ref !== undefined && commit !== undefined) throw serverErrors.gitRefWithCommit();
      if (!(await workspace.isInGitRepository(target))) {
        reply.header(GIT_REPOSITORY_HEADER, 'not-a-repository');
        return { original: null, modified: null };
      }
      return workspace.gitDiff(target, {
        ...(ref === undefined ? {} : { ref }),
        ...(commit === undefined ? {} : { commit }),
      });
    },
  );

  routes.get(
    '/api/git/commits',
    {
      schema: {
        tags: TAGS,
        summary: "The repository's newest commits",
        description:
          'Commits reachable from `HEAD`, newest first; `has_more` says whether older ones ' +
          'exist. Empty outside a repository and before the first commit.',
        querystring: commitsQuerySchema,
        response: { 200: gitCommitsPageSchema },
      },
    },
    async (request) => {
      const { path, limit } = request.query;
      const { workspace, path: target } = workspaces.for(path);
      if (!(await workspace.isInGitRepository(target))) return { commits: [], has_more: false };
      return workspace.gitCommits(target, { limit });
    },
  );

  routes.get(
    '/api/git/commits/:sha/changes',
    {
      schema: {
        tags: TAGS,
        summary: 'The files one commit changed',
        description:
          'Against its first parent (a root commit: everything `ADDED`); a rename is the old ' +
          'path `DELETED` and the new one `ADDED`. Paths are relative to the repository root. ' +
          'Empty outside a repository; 400 for a commit the repository does not have.',
        params: commitChangesParamsSchema,
        querystring: commitChangesQuerySchema,
        response: { 200: z.array(gitChangeSchema) },
      },
    },
    async (request) => {
      const { path } = request.query;
      const { workspace, path: target } = workspaces.for(path);
      if (!(await workspace.isInGitRepository(target))) return [];
      return workspace.gitCommitChanges(target, request.params.sha);
    },
  );
}
