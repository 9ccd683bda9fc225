import type {} from '@fastify/swagger';
import { WorkspaceFileError } from '@ferry/sdk-core';
import type { LocalWorkspace, SandboxOptions } from '@ferry/workspace-local';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { mkdir, readdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { z } from 'zod';
import { successSchema } from '../schemas/common-schemas';
import { archiveRoute } from './file-archive';
import { toWorkspaceFileError } from './file-system-error';
import { RouteWorkspaces } from './route-workspaces';

/** Options of {@link fileBrowseRoutes}. */
export interface FileBrowseRoutesOptions {
  /** Folders are listed, created and archived only inside this folder. */
  workspaceRoot: string;
  /**
   * Act in bubblewrap sandboxes, as the `/file` routes do (see {@link RouteWorkspaces}): inside
   * a conversation's folder nothing outside it is reached, whatever the agent put there.
   */
  sandbox?: boolean | SandboxOptions | undefined;
}

const TAGS = ['Files'];
const MAX_FAVORITES = 50;

const entrySchema = z.object({ label: z.string(), path: z.string() });
const homeResponseSchema = z.object({
  home: z.string(),
  favorites: z.array(entrySchema),
  locations: z.array(entrySchema),
});
const subdirectoryPageSchema = z.object({
  items: z.array(z.object({ name: z.string(), path: z.string() })),
  next_page_id: z.string().nullable(),
});

const includeHiddenSchema = z
  .stringbool()
  .default(false)
  .describe("Include folders whose name starts with '.'");

const searchQuerySchema = z.object({
  path: z.string().min(1).describe('The folder, absolute or relative to the workspace root'),
  page_id: z.string().optional().describe('The `next_page_id` of the previous page'),
  limit: z.coerce.number().int().min(1).max(100).default(100).describe('Most folders per page'),
  include_hidden: includeHiddenSchema,
});

const createQuerySchema = z.object({
  path: z.string().min(1).describe('The folder to create, with any missing parents'),
});

/** The folders directly inside `directory` (never symlinks), sorted by name ignoring case. */
async function subdirectories(
  directory: string,
  includeHidden: boolean,
): Promise<{ name: string; path: string }[]> {
  const entries = await readdir(directory, { withFileTypes: true }).catch((error: unknown) => {
    throw toWorkspaceFileError('list', directory, error);
  });
  return entries
    .filter((entry) => entry.isDirectory() && (includeHidden || !entry.name.startsWith('.')))
    .map((entry) => ({ name: entry.name, path: join(directory, entry.name) }))
    .sort((a, b) => a.name.toLowerCase().localeCompare(b.name.toLowerCase()));
}

/** The folders directly inside `path` (never symlinks), listed by `workspace`, sorted. */
async function subdirectoriesIn(
  workspace: LocalWorkspace,
  path: string,
  includeHidden: boolean,
): Promise<{ name: string; path: string }[]> {
  const info = await workspace.stat(path);
  if (info.type !== 'directory') throw new WorkspaceFileError('list', path, 'not_a_directory');
  return (await workspace.listFiles(path))
    .filter((entry) => entry.type === 'directory' && (includeHidden || !entry.name.startsWith('.')))
    .map((entry) => ({ name: entry.name, path: entry.path }))
    .sort((a, b) => a.name.toLowerCase().localeCompare(b.name.toLowerCase()));
}

/** `mkdir -p`: on the host, or inside the folder's sandbox (where a planted symlink leads nowhere). */
async function makeDirectory(
  target: { workspace: LocalWorkspace; path: string },
  path: string,
  sandboxed: boolean,
): Promise<void> {
  const directory = await target.workspace.resolvePath(target.path);
  if (sandboxed) {
    const made = await target.workspace.executeCommand('mkdir -p -- "$FERRY_DIRECTORY"', {
      env: { FERRY_DIRECTORY: directory },
    });
    if (made.exit_code === 0) return;
    // What is in the way: a file at the path or at a parent of it.
    const inTheWay = await target.workspace.stat(target.path).then(
      (info) => info.type !== 'directory',
      (error: unknown) =>
        WorkspaceFileError.isInstance(error) && error.reason === 'not_a_directory',
    );
    throw new WorkspaceFileError(
      'create the folder',
      path,
      inTheWay ? 'not_a_directory' : 'other',
      {
        cause: new Error(made.stderr.trim()),
      },
    );
  }
  await mkdir(directory, { recursive: true }).catch((error: unknown) => {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') {
      throw new WorkspaceFileError('create the folder', path, 'not_a_directory', { cause: error });
    }
    throw toWorkspaceFileError('create the folder', path, error);
  });
}

/**
 * OpenHands' folder browser (`/api/file/home`, `/api/file/search_subdirs`,
 * `/api/file/create_directory`) and `/api/file/archive`, confined to the workspace root: the
 * root stands in for the home folder, and a path outside it answers 403.
 */
// eslint-disable-next-line @typescript-eslint/require-await -- a Fastify plugin; nothing to await
export async function fileBrowseRoutes(
  app: FastifyInstance,
  options: FileBrowseRoutesOptions,
): Promise<void> {
  const workspaces = new RouteWorkspaces(options);
  app.addHook('onClose', () => workspaces.close());
  const routes = app.withTypeProvider<ZodTypeProvider>();

  routes.get(
    '/api/file/home',
    {
      schema: {
        tags: TAGS,
        summary: 'Where the folder browser starts',
        description:
          "`home` is the workspace root (OpenHands: the server user's home folder), " +
          '`favorites` the folders directly inside it, `locations` the root itself ' +
          "(OpenHands: '/'): nothing outside the workspace root is reachable.",
        querystring: z.object({ include_hidden: includeHiddenSchema }),
        response: { 200: homeResponseSchema },
      },
    },
    async (request) => {
      const home = await workspaces.for().workspace.resolvePath('.');
      await mkdir(home, { recursive: true });
      const folders = await subdirectories(home, request.query.include_hidden);
      return {
        home,
        favorites: folders
          .slice(0, MAX_FAVORITES)
          .map((folder) => ({ label: folder.name, path: folder.path })),
        locations: [{ label: basename(home) || home, path: home }],
      };
    },
  );

  routes.get(
    '/api/file/search_subdirs',
    {
      schema: {
        tags: TAGS,
        summary: 'The folders directly inside a folder, a page at a time',
        description:
          "Sorted by name ignoring case; symlinks and files are left out, so are names starting with '.' " +
          'unless `include_hidden`. 404 when the folder does not exist, 400 when it is a file.',
        querystring: searchQuerySchema,
        response: { 200: subdirectoryPageSchema },
      },
    },
    async (request) => {
      const { path, page_id: pageId, limit, include_hidden: includeHidden } = request.query;
      const target = workspaces.for(path);
      const folders = await subdirectoriesIn(target.workspace, target.path, includeHidden);
      const found =
        pageId === undefined ? -1 : folders.findIndex((f) => f.name.toLowerCase() === pageId);
      const start = Math.max(found, 0);
      const next = folders[start + limit];
      return {
        items: folders.slice(start, start + limit),
        next_page_id: next === undefined ? null : next.name.toLowerCase(),
      };
    },
  );

  routes.post(
    '/api/file/create_directory',
    {
      schema: {
        tags: TAGS,
        summary: 'Create a folder and its missing parents',
        description:
          'An existing folder is left as it is; a file in the way answers 400, a path outside ' +
          'the workspace root 403.',
        querystring: createQuerySchema,
        response: { 200: successSchema },
      },
    },
    async (request) => {
      const { path } = request.query;
      await makeDirectory(workspaces.for(path), path, workspaces.sandboxed);
      return { success: true };
    },
  );

  archiveRoute(app, workspaces);
}
