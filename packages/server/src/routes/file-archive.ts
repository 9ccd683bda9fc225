import type {} from '@fastify/swagger';
import { FerryError, GitRevisionError, WorkspaceFileError } from '@ferry/sdk-core';
import type { LocalWorkspace } from '@ferry/workspace-local';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { execFile } from 'node:child_process';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import { serverErrors } from '../errors/http-status';
import { toWorkspaceFileError } from './file-system-error';
import type { RouteWorkspaces } from './route-workspaces';

/** OpenHands' default excludes: dependencies, caches and build output. */
const DEFAULT_EXCLUDES = [
  '.git/',
  'node_modules/',
  '.venv/',
  'venv/',
  '__pycache__/',
  '.mypy_cache/',
  '.pytest_cache/',
  '.ruff_cache/',
  'dist/',
  'build/',
  '.next/',
  'target/',
  '*.pyc',
];

/**
 * Files inside any `.git` folder that may hold credentials (a token in a remote URL, saved
 * credentials, reflogs): never archived, whatever the excludes.
 */
const SENSITIVE_GIT_FILES = [
  'config',
  'config.worktree',
  'credentials',
  '.git-credentials',
  'FETCH_HEAD',
  'logs',
];

const archiveQuerySchema = z.object({
  path: z.string().min(1).describe('The folder to archive, inside the workspace root'),
  format: z
    .enum(['git-delta', 'tar.gz'])
    .default('git-delta')
    .describe(
      '`git-delta`: a patch of the working tree against `base_ref` (a repository only); ' +
        '`tar.gz`: every file of the folder',
    ),
  base_ref: z
    .string()
    .optional()
    .describe('git-delta only: what the patch is against (default `HEAD`, or the empty tree)'),
  use_default_excludes: z
    .stringbool()
    .default(true)
    .describe(
      'Leave out dependencies, caches and build output (node_modules/, .venv/, dist/, ...)',
    ),
  exclude: z
    .union([z.string(), z.array(z.string())])
    .optional()
    .describe('More glob patterns to leave out (repeatable)'),
});

interface Run {
  ok: boolean;
  stdout: string;
  stderr: string;
}

/**
 * Runs a program (no shell) in the archived folder with `LC_ALL=C` and `env` added: on the
 * host, or in the conversation's sandbox, where a repository's hooks, `core.fsmonitor` or
 * filters (which the agent may have written) cannot reach the host.
 */
type Runner = (argv: readonly string[], env?: Record<string, string>) => Promise<Run>;

function hostRunner(cwd: string): Runner {
  return (argv, env = {}) =>
    new Promise((resolve) => {
      const [command = '', ...args] = argv;
      execFile(
        command,
        args,
        { cwd, env: { ...process.env, ...env, LC_ALL: 'C' }, maxBuffer: 64 * 1024 * 1024 },
        (error, stdout, stderr) => {
          resolve({ ok: error === null, stdout: stdout.trim(), stderr: stderr.trim() });
        },
      );
    });
}

/** An archive may take a while; the sandbox's default command timeout is for agents' commands. */
const SANDBOXED_STEP_TIMEOUT_SECONDS = 600;

function sandboxRunner(workspace: LocalWorkspace, cwd: string): Runner {
  return async (argv, env = {}) => {
    const result = await workspace.executeCommand(argv.map(shellQuote).join(' '), {
      cwd,
      env: { ...env, LC_ALL: 'C' },
      timeout: SANDBOXED_STEP_TIMEOUT_SECONDS,
    });
    return {
      ok: result.exit_code === 0,
      stdout: result.stdout.trim(),
      stderr: result.stderr.trim(),
    };
  };
}

function shellQuote(word: string): string {
  return `'${word.replaceAll("'", "'\\''")}'`;
}

/** Writes a gzip tarball of `folder` (entries under its own name) to `output`. */
async function writeTarball(
  run: Runner,
  folder: string,
  output: string,
  excludes: string[],
): Promise<void> {
  const patterns = [
    ...excludes.map((pattern) => pattern.replace(/\/+$/, '')).filter((pattern) => pattern !== ''),
    ...SENSITIVE_GIT_FILES.flatMap((name) => [`.git/${name}`, `.git/modules/*/${name}`]),
  ];
  const result = await run([
    'tar',
    '-czf',
    output,
    ...patterns.map((pattern) => `--exclude=${pattern}`),
    '-C',
    dirname(folder),
    basename(folder),
  ]);
  if (!result.ok) throw new FerryError('ARCHIVE_FAILED', `tar failed: ${result.stderr}`);
}

/** git pathspecs leaving out `excludes`, matched at any depth like the tarball's. */
function excludePathspecs(excludes: readonly string[]): string[] {
  return excludes.flatMap((raw) => {
    const pattern = raw.replace(/\/+$/, '');
    if (pattern === '') return [];
    const prefix = pattern.includes('/') ? '' : '**/';
    const contents = `:(glob,exclude)${prefix}${pattern}/**`;
    return raw.endsWith('/') ? [contents] : [`:(glob,exclude)${prefix}${pattern}`, contents];
  });
}

/**
 * Writes a patch of the working tree of `folder` (inside a repository) against `baseRef`
 * (default `HEAD`, the empty tree before the first commit) to `output`, through a scratch
 * index so the repository's own index is untouched. Returns the base commit ('' for none).
 */
async function writeGitDelta(
  run: Runner,
  folder: string,
  output: string,
  baseRef: string | undefined,
  excludes: string[],
): Promise<string> {
  if ((await run(['git', 'rev-parse', '--show-toplevel'])).ok === false) {
    throw serverErrors.notARepository(folder);
  }
  let base: string;
  let baseCommit = '';
  if (baseRef !== undefined) {
    if (baseRef.startsWith('-')) throw new GitRevisionError(baseRef, 'it cannot start with "-".');
    const resolved = await run(['git', 'rev-parse', '--verify', '--quiet', `${baseRef}^{commit}`]);
    if (!resolved.ok) throw new GitRevisionError(baseRef, 'no such commit in this repository.');
    base = baseCommit = resolved.stdout;
  } else {
    const head = await run(['git', 'rev-parse', '--verify', '--quiet', 'HEAD^{commit}']);
    baseCommit = head.ok ? head.stdout : '';
    base = head.ok
      ? head.stdout
      : (await run(['git', 'hash-object', '-t', 'tree', '/dev/null'])).stdout;
  }
  const env = { GIT_INDEX_FILE: `${output}.index` };
  const pathspecs = excludePathspecs(excludes);
  for (const args of [
    ['read-tree', base],
    ['add', '-A', '--', '.', ...pathspecs],
    ['diff', '--binary', '--cached', `--output=${output}`, base, '--', '.', ...pathspecs],
  ]) {
    const step = await run(['git', ...args], env);
    if (!step.ok)
      throw new FerryError('ARCHIVE_FAILED', `git ${args[0] ?? ''} failed: ${step.stderr}`);
  }
  return baseCommit;
}

/** Headers describing the repository of an archive, percent-encoded. */
async function repositoryHeaders(run: Runner): Promise<Record<string, string>> {
  const headers: Record<string, string> = {};
  const root = await run(['git', 'rev-parse', '--show-toplevel']);
  if (!root.ok) return headers;
  headers['x-archive-repo-root'] = encodeURIComponent(root.stdout);
  const probes: [string, string[]][] = [
    ['x-archive-head-commit', ['rev-parse', '--verify', '--quiet', 'HEAD']],
    ['x-archive-branch', ['symbolic-ref', '--short', '--quiet', 'HEAD']],
    ['x-archive-repo-remote', ['remote', 'get-url', 'origin']],
  ];
  for (const [header, args] of probes) {
    const value = await run(['git', ...args]);
    // A remote URL may carry a token: only its host and path go out.
    if (value.ok && value.stdout !== '')
      headers[header] = encodeURIComponent(withoutCredentials(value.stdout));
  }
  return headers;
}

function withoutCredentials(value: string): string {
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/)[^@/]*@/i, '$1');
}

/**
 * OpenHands' `GET /api/file/archive`: a folder as a git patch or a gzip tarball, built in a
 * scratch folder outside it and deleted once sent.
 */
export function archiveRoute(app: FastifyInstance, workspaces: RouteWorkspaces): void {
  app.withTypeProvider<ZodTypeProvider>().get(
    '/api/file/archive',
    {
      schema: {
        tags: ['Files'],
        summary: 'Archive a folder: a git patch or a tar.gz',
        description:
          'git-delta: a `git diff --binary` of the working tree (untracked files included) ' +
          'against `base_ref` (Ferry: `HEAD` by default; OpenHands detects the upstream ' +
          "branch), with `X-Archive-Base-Commit`; 400 outside a repository. tar.gz: the folder's " +
          'files under its name; symlinks are stored, never followed, and credentials inside ' +
          '`.git` are always left out. 404 for a missing folder, 400 for a file.',
        querystring: archiveQuerySchema,
        response: {
          200: {
            description: 'The archive',
            content: {
              'application/gzip': { schema: z.any() },
              'text/x-patch': { schema: z.any() },
            },
          },
        },
      },
    },
    async (request, reply) => {
      const { path, format, base_ref: baseRef, use_default_excludes: useDefaults } = request.query;
      const extra = request.query.exclude;
      const excludes = [
        ...(useDefaults ? DEFAULT_EXCLUDES : []),
        ...(extra === undefined ? [] : [extra].flat()),
      ];
      const target = workspaces.for(path);
      const folder = await target.workspace.resolvePath(target.path);
      const info = await stat(folder).catch((error: unknown) => {
        throw toWorkspaceFileError('archive', path, error);
      });
      if (!info.isDirectory()) throw new WorkspaceFileError('archive', path, 'not_a_directory');
      const scratch = await mkdtemp(join(tmpdir(), 'ferry-archive-'));
      const sandbox = workspaces.isolated(path, [scratch]);
      const cleanup = async () => {
        await sandbox?.close();
        await rm(scratch, { recursive: true, force: true });
      };
      try {
        const run = sandbox === undefined ? hostRunner(folder) : sandboxRunner(sandbox, folder);
        const suffix = format === 'tar.gz' ? '.tar.gz' : '.patch';
        const output = join(scratch, `archive${suffix}`);
        const headers = await repositoryHeaders(run);
        if (format === 'tar.gz') {
          await writeTarball(run, folder, output, excludes);
        } else {
          const baseCommit = await writeGitDelta(run, folder, output, baseRef, excludes);
          if (baseCommit !== '') {
            headers['x-archive-base-commit'] = baseCommit;
            headers['x-archive-base-ref'] = baseRef ?? 'auto';
          }
        }
        const stream = createReadStream(output);
        stream.on('close', () => void cleanup());
        return await reply
          .headers(headers)
          .type(format === 'tar.gz' ? 'application/gzip' : 'text/x-patch')
          .header(
            'content-disposition',
            `attachment; filename="${encodeURIComponent(basename(folder))}${suffix}"`,
          )
          .send(stream);
      } catch (error) {
        await cleanup();
        throw error;
      }
    },
  );
}
