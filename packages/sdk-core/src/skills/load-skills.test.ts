import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseAgent } from '../agent/agent-schema';
import { renderSystemPrompt } from '../agent/system-prompt';
import { PathOutsideWorkspaceError } from '../errors/path-outside-workspace-error';
import { SkillFileError } from '../errors/skill-file-error';
import { createTemporaryDirectory, type TemporaryDirectory } from '../testing/temporary-directory';
import {
  defaultUserSkillDirectories,
  loadProjectSkills,
  loadUserSkills,
  mergeSkills,
} from './load-skills';
import { toSkillInfo } from './skill-info';

let root: TemporaryDirectory;
let outside: TemporaryDirectory;

beforeEach(async () => {
  root = await createTemporaryDirectory();
  outside = await createTemporaryDirectory();
});

afterEach(async () => {
  await root.remove();
  await outside.remove();
});

/** Writes `files` (path relative to `base` -> text), creating folders. */
async function write(base: string, files: Record<string, string | Buffer>): Promise<void> {
  for (const [path, text] of Object.entries(files)) {
    await mkdir(dirname(join(base, path)), { recursive: true });
    await writeFile(join(base, path), text);
  }
}

const names = (result: { skills: { name: string }[] }) => result.skills.map((skill) => skill.name);

describe('loadProjectSkills', () => {
  it('reads third-party files, skill folders and AgentSkills folders as OpenHands lists them', async () => {
    await write(root.path, {
      'AGENTS.md': '# Build with pnpm\n',
      '.cursorrules': 'Use tabs.',
      'gemini.md': 'Gemini notes',
      'notes.md': 'not a skill',
      '.agents/skills/testing.md':
        '---\ntriggers: [test, vitest]\ndescription: How to test\n---\n\nRun vitest.\n',
      '.agents/skills/style.md': 'Always on style guide.',
      '.agents/skills/README.md': 'ignored',
      '.agents/skills/nested/deploy.md': '---\ntriggers:\n  - deploy\n---\nDeploy steps',
      '.agents/skills/pdf-tools/SKILL.md':
        '---\nname: pdf-tools\ndescription: Work with PDFs\n---\nUse pdftotext.',
      '.agents/skills/pdf-tools/references/extra.md': 'inside an AgentSkills folder: not a skill',
      '.openhands/skills/Shout/skill.md':
        '---\ndescription: lower-case file name, bad folder name\n---\nx',
    });
    await symlink('AGENTS.md', join(root.path, 'CLAUDE.md'));
    const result = await loadProjectSkills({ projectDir: root.path });
    // Sorted by code unit, as OpenHands sorts: '.' before 'A'.
    expect(names(result)).toEqual([
      'cursorrules',
      'agents',
      'gemini',
      'style',
      'nested/deploy',
      'testing',
      'pdf-tools',
    ]);
    const infos = result.skills.map(toSkillInfo);
    expect(infos[1]).toEqual({
      name: 'agents',
      type: 'repo',
      content: '# Build with pnpm\n',
      triggers: [],
      source: join(root.path, 'AGENTS.md'),
      description: null,
      is_agentskills_format: false,
      disable_model_invocation: false,
    });
    expect(infos.find((info) => info.name === 'testing')).toMatchObject({
      type: 'knowledge',
      content: 'Run vitest.',
      triggers: ['test', 'vitest'],
      description: 'How to test',
    });
    expect(infos.find((info) => info.name === 'pdf-tools')).toMatchObject({
      type: 'agentskills',
      content: 'Use pdftotext.',
      description: 'Work with PDFs',
      is_agentskills_format: true,
      source: join(root.path, '.agents/skills/pdf-tools/SKILL.md'),
    });
    // The folder "Shout" breaks the AgentSkills name rule: reported, the rest still loads.
    expect(result.errors).toHaveLength(1);
    expect(result.errors[0]).toBeInstanceOf(SkillFileError);
    expect(result.errors[0]?.path).toBe(join(root.path, '.openhands/skills/Shout/skill.md'));
    expect(result.errors[0]?.message).toContain('AgentSkills name "Shout"');
  });

  it('keeps the first of duplicate names: third-party files, then .agents, .openhands, microagents', async () => {
    await write(root.path, {
      'CLAUDE.md': 'from the root',
      '.agents/skills/claude.md': '---\nname: other\n---\nfrom .agents (third-party name)',
      '.agents/skills/dup.md': 'from .agents',
      '.openhands/skills/dup.md': 'from .openhands/skills',
      '.openhands/skills/only-skills.md': 'only in skills',
      '.openhands/microagents/dup.md': 'from microagents',
      '.openhands/microagents/legacy.md': '---\ntriggers: [old]\n---\nlegacy',
    });
    const result = await loadProjectSkills({ projectDir: root.path });
    const content = Object.fromEntries(result.skills.map((skill) => [skill.name, skill.content]));
    expect(content).toEqual({
      claude: 'from the root',
      dup: 'from .agents',
      'only-skills': 'only in skills',
      legacy: 'legacy',
    });
    expect(result.errors).toEqual([]);
  });

  it('reports a malformed file by path and skips it; the other skills load', async () => {
    await write(root.path, {
      '.agents/skills/broken.md': '---\ntriggers: [unclosed\n---\nbody',
      '.agents/skills/wrong-type.md': '---\ntriggers: deploy\n---\nbody',
      '.agents/skills/binary.md': Buffer.from([0x2d, 0xff, 0xfe, 0x00]),
      '.agents/skills/big.md': 'x'.repeat(2048),
      '.agents/skills/good.md': 'fine',
    });
    const result = await loadProjectSkills({ projectDir: root.path, maxFileBytes: 1024 });
    expect(names(result)).toEqual(['good']);
    const reasons = Object.fromEntries(
      result.errors.map((error): [string, string] => [
        error.path.split('/').at(-1) ?? '',
        error.reason,
      ]),
    );
    expect(reasons['broken.md']).toMatch(/^its frontmatter is not valid YAML/);
    expect(reasons['wrong-type.md']).toBe('`triggers` must be a list of strings');
    expect(reasons['binary.md']).toBe('it is not UTF-8 text');
    expect(reasons['big.md']).toBe('it is larger than the 1024 bytes a skill file may be');
    expect(result.errors.every((error) => error.code === 'SKILL_FILE_INVALID')).toBe(true);
    expect(result.errors[0]?.message).toContain(join(root.path, '.agents/skills'));
  });

  it('never follows a symlink out of the project folder', async () => {
    await write(outside.path, {
      'secret.md': 'SECRET-OUTSIDE',
      'skills/leaked.md': 'SECRET-DIR',
      'AGENTS.md': 'SECRET-AGENTS',
    });
    await write(root.path, {
      '.agents/skills/inside.md': 'inside',
      'real/shared.md': 'shared inside',
    });
    await symlink(join(outside.path, 'secret.md'), join(root.path, '.agents/skills/leak.md'));
    await symlink(join(outside.path, 'skills'), join(root.path, '.agents/skills/linked'));
    await symlink(join(outside.path, 'AGENTS.md'), join(root.path, 'AGENTS.md'));
    await symlink(outside.path, join(root.path, '.openhands'));
    await symlink(join(root.path, 'real'), join(root.path, '.agents/skills/ok'));
    // A loop: a folder that links to its parent must not be walked forever.
    await symlink('..', join(root.path, '.agents/skills/ok-loop'));
    const result = await loadProjectSkills({ projectDir: root.path });
    expect(JSON.stringify(result.skills)).not.toContain('SECRET');
    expect(names(result)).toEqual(['inside', 'ok/shared']);
    expect(result.errors.map((error) => error.path).sort()).toEqual(
      ['.agents/skills/leak.md', '.agents/skills/linked', '.openhands/skills', 'AGENTS.md'].map(
        (path) => join(root.path, path),
      ),
    );
    expect(result.errors[0]?.reason).toContain('symlink leading outside');
  });

  it('refuses a project folder outside `within`, by path or through a symlink', async () => {
    await symlink(outside.path, join(root.path, 'escape'));
    for (const projectDir of [outside.path, '..', 'escape']) {
      await expect(loadProjectSkills({ projectDir, within: root.path })).rejects.toBeInstanceOf(
        PathOutsideWorkspaceError,
      );
    }
    expect(await loadProjectSkills({ projectDir: 'missing', within: root.path })).toEqual({
      skills: [],
      errors: [],
    });
  });

  it('reads task inputs and path rules as OpenHands does', async () => {
    await write(root.path, {
      '.agents/skills/release.md':
        '---\ninputs:\n  - name: VERSION\n    description: the version\n---\nRelease ${VERSION}.',
      '.agents/skills/rule.md':
        '---\npaths: "src/**/*.ts, test/**"\ntriggers: [ignored]\n---\nRule',
      '.agents/skills/quiet.md': '---\ntriggers: [q]\ndisable-model-invocation: true\n---\nQ',
      '.agents/skills/long.md': `---\ndescription: "${'d'.repeat(2000)}"\n---\nL`,
    });
    const result = await loadProjectSkills({ projectDir: root.path });
    const byName = Object.fromEntries(result.skills.map((skill) => [skill.name, skill]));
    expect(byName.release?.trigger).toEqual({ type: 'task', triggers: ['/release'] });
    expect(byName.release?.content).toMatch(
      /^Release \$\{VERSION\}\.\n\nIf the user has not given/,
    );
    expect(byName.rule?.trigger).toEqual({ type: 'path', paths: ['src/**/*.ts', 'test/**'] });
    expect(toSkillInfo(byName.rule!)).toMatchObject({
      type: 'knowledge',
      triggers: [],
      disable_model_invocation: true,
    });
    expect(toSkillInfo(byName.quiet!)).toMatchObject({
      triggers: ['q'],
      disable_model_invocation: true,
    });
    expect(byName.long?.description).toHaveLength(1024);
    expect(byName.long?.description).toContain(join(root.path, '.agents/skills/long.md'));
  });

  it('gives skills an agent runs: always-on content reaches the system prompt', async () => {
    await write(root.path, { 'AGENTS.md': 'Use pnpm, never npm.' });
    const { skills } = await loadProjectSkills({ projectDir: root.path });
    const agent = parseAgent({ llm: { model: 'test' }, agent_context: { skills } });
    expect(renderSystemPrompt(agent)).toContain(
      '<SKILL name="agents">\nUse pnpm, never npm.\n</SKILL>',
    );
  });
});

describe('loadUserSkills and mergeSkills', () => {
  it('reads user folders, the earlier winning; a later list wins a merge', async () => {
    await write(root.path, {
      '.agents/skills/shared.md': 'user .agents',
      '.openhands/skills/shared.md': 'user .openhands',
      '.openhands/microagents/old.md': 'old',
    });
    const user = await loadUserSkills({ directories: defaultUserSkillDirectories(root.path) });
    expect(user.skills.map((skill) => [skill.name, skill.content])).toEqual([
      ['shared', 'user .agents'],
      ['old', 'old'],
    ]);
    const project = { name: 'shared', content: 'project', trigger: null };
    expect(mergeSkills([user.skills, [project]]).map((skill) => skill.content)).toEqual([
      'project',
      'old',
    ]);
    expect(await loadUserSkills({ directories: [join(root.path, 'missing')] })).toEqual({
      skills: [],
      errors: [],
    });
  });
});
