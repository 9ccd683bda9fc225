import type {} from '@fastify/swagger';
import {
  loadProjectSkills,
  loadUserSkills,
  mergeSkills,
  skillInfoSchema,
  toSkillInfo,
  type LoadedSkills,
  type Skill,
} from '@ferry/sdk-core';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import { errorResponseSchema } from '../schemas/common-schemas';

/** Options of {@link skillRoutes}. */
export interface SkillRoutesOptions {
  /** A request's `project_dir` must lie inside this folder (by path and through symlinks). */
  workspaceRoot: string;
  /** The user skill folders, most important first; none means no user skills. */
  userSkillDirs: readonly string[];
}

/** OpenHands' `OrgConfig`: an organisation's skills repository (Ferry does not clone it). */
const orgConfigSchema = z.object({
  repository: z.string(),
  provider: z.string(),
  org_repo_url: z.string(),
  org_name: z.string(),
});

/** OpenHands' `MarketplaceRegistration` (Ferry does not fetch marketplaces). */
const marketplaceRegistrationSchema = z.looseObject({
  name: z.string(),
  source: z.string(),
  ref: z.string().nullish(),
  repo_path: z.string().nullish(),
  auto_load: z.union([z.boolean(), z.array(z.string())]).optional(),
});

const exposedUrlSchema = z.object({ name: z.string(), url: z.string(), port: z.number().int() });

/** OpenHands' `SkillsRequest`: every field is accepted, with OpenHands' defaults. */
const skillsRequestSchema = z.object({
  load_public: z.boolean().default(true).describe('Public skills (never loaded by Ferry)'),
  load_user: z.boolean().default(true).describe("The server's user skill folders"),
  load_project: z.boolean().default(true).describe('The skills of `project_dir`'),
  load_org: z.boolean().default(true).describe('Organisation skills (never loaded by Ferry)'),
  marketplace_path: z.string().nullable().default('marketplaces/default.json'),
  registered_marketplaces: z.array(marketplaceRegistrationSchema).default([]),
  project_dir: z
    .string()
    .nullish()
    .describe('The project folder, absolute or relative to the workspace root, inside it'),
  org_configs: z.array(orgConfigSchema).nullish(),
  org_config: orgConfigSchema.nullish().describe('Deprecated by OpenHands; prefer `org_configs`'),
  sandbox_config: z
    .object({ exposed_urls: z.array(exposedUrlSchema).default([]) })
    .nullish()
    .describe('URLs exposed by the sandbox; `WORKER_*` ones become the `work_hosts` skill'),
});

const skillsResponseSchema = z.object({
  skills: z.array(skillInfoSchema),
  sources: z.record(z.string(), z.number().int()),
});

/** Names of exposed URLs that are the user's web applications (OpenHands' convention). */
const WORKER_URL_PREFIX = 'WORKER_';

/** The always-on `work_hosts` skill listing the sandbox's worker URLs, if any. */
function sandboxSkills(urls: readonly z.infer<typeof exposedUrlSchema>[]): Skill[] {
  const workers = urls.filter((url) => url.name.startsWith(WORKER_URL_PREFIX));
  if (workers.length === 0) return [];
  const hosts = workers.map((url) => `* ${url.url} (port ${url.port})`).join('\n');
  const content = `The user can reach web applications at these hosts, each with its port:\n${hosts}`;
  return [{ name: 'work_hosts', content, trigger: null, source: null }];
}

/** Logs the files a load skipped; the answer lists only the skills, as OpenHands' does. */
function logSkipped(log: FastifyBaseLogger, loaded: LoadedSkills): Skill[] {
  for (const error of loaded.errors) {
    log.warn({ path: error.path, reason: error.reason }, 'skill file skipped');
  }
  return loaded.skills;
}

/**
 * OpenHands' `POST /api/skills`: the skills an agent would get, merged by name with OpenHands'
 * precedence (sandbox < public < user < org < project). Ferry reads the sandbox's worker URLs,
 * the server's user skill folders and the request's project folder; public skills (the
 * OpenHands extensions repository), registered marketplaces and organisation repositories need
 * a git fetch, which Ferry does not do, and count 0 in `sources`.
 */
export function skillRoutes(
  app: FastifyInstance,
  { workspaceRoot, userSkillDirs }: SkillRoutesOptions,
): void {
  app.withTypeProvider<ZodTypeProvider>().post(
    '/api/skills',
    {
      schema: {
        tags: ['Skills'],
        summary: 'Load and merge the skills of every source',
        description:
          'Project skills come from `project_dir` (inside the workspace root, else 403 ' +
          '`PATH_OUTSIDE_WORKSPACE`): `AGENTS.md`, `CLAUDE.md`, `GEMINI.md`, `AGENT.md`, ' +
          '`.cursorrules`, then `.agents/skills`, `.openhands/skills`, `.openhands/microagents`. ' +
          "User skills come from the server's `--skills-dir` folders. Symlinks leading out of " +
          'a folder are not followed; a malformed file is skipped (and logged). Public, ' +
          'marketplace and organisation skills are not loaded (Ferry fetches nothing): ' +
          '`sources` counts them 0.',
        body: skillsRequestSchema,
        response: { 200: skillsResponseSchema, 403: errorResponseSchema },
      },
    },
    async (request) => {
      const body = request.body;
      const sandbox = sandboxSkills(body.sandbox_config?.exposed_urls ?? []);
      const user =
        body.load_user && userSkillDirs.length > 0
          ? logSkipped(request.log, await loadUserSkills({ directories: userSkillDirs }))
          : [];
      const project =
        body.load_project && body.project_dir
          ? logSkipped(
              request.log,
              await loadProjectSkills({ projectDir: body.project_dir, within: workspaceRoot }),
            )
          : [];
      const skills = mergeSkills([sandbox, user, project]);
      return {
        skills: skills.map(toSkillInfo),
        sources: {
          sandbox: sandbox.length,
          registered_marketplaces: 0,
          public: 0,
          user: user.length,
          // OpenHands counts public and user skills together under this name.
          sdk_base: user.length,
          org: 0,
          project: project.length,
        },
      };
    },
  );
}
