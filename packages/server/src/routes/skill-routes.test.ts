import { createTemporaryDirectory } from '@ferry/sdk-core/testing';
import type { TemporaryDirectory } from '@ferry/sdk-core/testing';
import type { FastifyInstance } from 'fastify';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startServer } from '../server';
import { skillRoutes } from './skill-routes';
import { createRoutesApp } from './workspace-test-app';

let root: TemporaryDirectory;
let user: TemporaryDirectory;
let outside: TemporaryDirectory;
let app: FastifyInstance;

interface SkillsAnswer {
  skills: { name: string; type: string; content: string; source: string | null }[];
  sources: Record<string, number>;
}

async function write(base: string, files: Record<string, string>): Promise<void> {
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(base, path)), { recursive: true });
    await writeFile(join(base, path), text);
  }
}

beforeEach(async () => {
  root = await createTemporaryDirectory();
  user = await createTemporaryDirectory();
  outside = await createTemporaryDirectory();
  app = await createRoutesApp({ workspaceRoot: root.path }, (instance) => {
    skillRoutes(instance, {
      workspaceRoot: root.path,
      userSkillDirs: [join(user.path, '.agents/skills'), join(user.path, '.openhands/skills')],
    });
    return Promise.resolve();
  });
});

afterEach(async () => {
  await app.close();
  await root.remove();
  await user.remove();
  await outside.remove();
});

function listSkills(body: Record<string, unknown>) {
  return app.inject({ method: 'POST', url: '/api/skills', payload: body });
}

const contentByName = (answer: SkillsAnswer) =>
  Object.fromEntries(answer.skills.map((skill) => [skill.name, skill.content]));

describe('POST /api/skills', () => {
  it('merges user and project skills, the project winning, and counts every source', async () => {
    await write(user.path, {
      '.agents/skills/shared.md': 'user version',
      '.agents/skills/user-only.md': '---\ntriggers: [deploy]\n---\nuser only',
      '.openhands/skills/user-only.md': 'shadowed by ~/.agents/skills',
    });
    await write(root.path, {
      'app/AGENTS.md': 'Use pnpm.',
      'app/.agents/skills/shared.md': 'project version',
      'app/.agents/skills/pdf-tools/SKILL.md': '---\ndescription: PDFs\n---\nUse pdftotext.',
      'app/.openhands/microagents/shared.md': 'shadowed by .agents/skills',
    });
    const response = await listSkills({ project_dir: 'app' });
    expect(response.statusCode).toBe(200);
    const answer = response.json<SkillsAnswer>();
    expect(answer.skills.map((skill) => [skill.name, skill.type])).toEqual([
      ['shared', 'repo'],
      ['user-only', 'knowledge'],
      ['agents', 'repo'],
      ['pdf-tools', 'agentskills'],
    ]);
    expect(contentByName(answer)).toMatchObject({
      shared: 'project version',
      'user-only': 'user only',
      agents: 'Use pnpm.',
    });
    expect(answer.skills[2]?.source).toBe(join(root.path, 'app/AGENTS.md'));
    expect(answer.sources).toEqual({
      sandbox: 0,
      registered_marketplaces: 0,
      public: 0,
      user: 2,
      sdk_base: 2,
      org: 0,
      project: 3,
    });
  });

  it('accepts every SkillsRequest field; public, marketplace and org skills count 0', async () => {
    await write(user.path, { '.agents/skills/mine.md': 'mine' });
    await write(root.path, { 'CLAUDE.md': 'root rules' });
    const org = {
      repository: 'acme/app',
      provider: 'github',
      org_repo_url: 'https://token@example.invalid/acme/.openhands',
      org_name: 'acme',
    };
    const response = await listSkills({
      load_public: true,
      load_user: false,
      load_project: true,
      load_org: true,
      marketplace_path: null,
      registered_marketplaces: [{ name: 'extra', source: 'github:acme/market', auto_load: true }],
      project_dir: root.path,
      org_configs: [org],
      org_config: org,
      sandbox_config: {
        exposed_urls: [
          { name: 'WORKER_1', url: 'http://localhost:12000', port: 12000 },
          { name: 'VSCODE', url: 'http://localhost:8001', port: 8001 },
        ],
      },
    });
    expect(response.statusCode).toBe(200);
    const answer = response.json<SkillsAnswer>();
    expect(answer.skills.map((skill) => skill.name)).toEqual(['work_hosts', 'claude']);
    expect(contentByName(answer).work_hosts).toContain('* http://localhost:12000 (port 12000)');
    expect(contentByName(answer).work_hosts).not.toContain('8001');
    expect(answer.sources).toMatchObject({ sandbox: 1, public: 0, org: 0, user: 0, project: 1 });
  });

  it('refuses a project_dir outside the workspace root, by path or through a symlink', async () => {
    await write(outside.path, { 'AGENTS.md': 'SECRET' });
    await symlink(outside.path, join(root.path, 'escape'));
    for (const projectDir of [outside.path, '..', 'escape', join(root.path, 'escape')]) {
      const response = await listSkills({ project_dir: projectDir });
      expect(response.statusCode, projectDir).toBe(403);
      expect(response.json()).toMatchObject({ code: 'PATH_OUTSIDE_WORKSPACE' });
      expect(response.body).not.toContain('SECRET');
    }
  });

  it('does not follow a symlink out of the project, and skips a malformed file', async () => {
    await write(outside.path, { 'secret.md': 'SECRET', 'AGENTS.md': 'SECRET' });
    await write(root.path, {
      'app/.agents/skills/fine.md': 'fine',
      'app/.agents/skills/broken.md': '---\ntriggers: [\n---\nbroken',
    });
    await symlink(join(outside.path, 'secret.md'), join(root.path, 'app/.agents/skills/leak.md'));
    await symlink(join(outside.path, 'AGENTS.md'), join(root.path, 'app/AGENTS.md'));
    await symlink(outside.path, join(root.path, 'app/.openhands'));
    const response = await listSkills({ project_dir: 'app', load_user: false });
    expect(response.statusCode).toBe(200);
    expect(response.body).not.toContain('SECRET');
    expect(response.json<SkillsAnswer>().skills.map((skill) => skill.name)).toEqual(['fine']);
  });

  it('answers a missing project folder with no skills, and skips sources turned off', async () => {
    await write(user.path, { '.agents/skills/mine.md': 'mine' });
    await write(root.path, { 'AGENTS.md': 'rules' });
    const missing = await listSkills({ project_dir: 'missing' });
    expect(missing.json<SkillsAnswer>().skills.map((skill) => skill.name)).toEqual(['mine']);
    const off = await listSkills({ project_dir: '.', load_user: false, load_project: false });
    expect(off.json<SkillsAnswer>().skills).toEqual([]);
  });

  it('answers 422 with the field for a malformed request', async () => {
    const cases: Record<string, unknown>[] = [
      { load_public: 'yes' },
      { project_dir: 42 },
      { org_configs: [{ repository: 'acme/app' }] },
      { sandbox_config: { exposed_urls: [{ name: 'WORKER_1', url: 'x', port: 'y' }] } },
    ];
    for (const body of cases) {
      const response = await listSkills(body);
      expect(response.statusCode, JSON.stringify(body)).toBe(422);
      expect(response.json()).toMatchObject({ code: 'VALIDATION_ERROR' });
    }
  });
});

describe('startServer({ skillsDir })', () => {
  it('lists the user skills of the folders it is given, and none without', async () => {
    const data = await createTemporaryDirectory();
    await write(user.path, { 'skills/mine.md': 'mine' });
    try {
      for (const [skillsDir, expected] of [
        [join(user.path, 'skills'), ['mine']],
        [undefined, []],
      ] as const) {
        const server = await startServer({
          port: 0,
          dataDir: data.path,
          ...(skillsDir === undefined ? {} : { skillsDir }),
        });
        try {
          const response = await server.app.inject({
            method: 'POST',
            url: '/api/skills',
            payload: {},
          });
          expect(response.json<SkillsAnswer>().skills.map((skill) => skill.name)).toEqual(expected);
        } finally {
          await server.close();
        }
      }
    } finally {
      await data.remove();
    }
  });
});
