import { homedir } from 'node:os';
import { isAbsolute, join, relative, resolve, sep } from 'node:path';
import { realpath } from 'node:fs/promises';
import type { Skill } from '../agent/agent-schema';
import { PathOutsideWorkspaceError } from '../errors/path-outside-workspace-error';
import { SkillFileError } from '../errors/skill-file-error';
import { ConfinedFolder, type FolderEntry } from './confined-folder';
import { THIRD_PARTY_SKILL_FILES, skillFromFile, thirdPartySkill } from './skill-document';

/** Skill folders of a project, most important first (OpenHands' order; the last is legacy). */
export const PROJECT_SKILL_DIRECTORIES = [
  '.agents/skills',
  '.openhands/skills',
  '.openhands/microagents',
] as const;

/** Largest skill file read, in bytes, unless `maxFileBytes` says otherwise (1 MiB). */
export const DEFAULT_MAX_SKILL_FILE_BYTES = 1024 * 1024;
/** Most files and folders looked at in one skill folder, unless `maxEntries` says otherwise. */
export const DEFAULT_MAX_SKILL_ENTRIES = 10_000;

/** Bounds of a load. */
export interface SkillLoadLimits {
  /** A larger file is skipped and reported (default {@link DEFAULT_MAX_SKILL_FILE_BYTES}). */
  maxFileBytes?: number;
  /**
   * Files and folders looked at in one skill folder, nested ones included; past it the rest is
   * skipped and reported (default {@link DEFAULT_MAX_SKILL_ENTRIES}).
   */
  maxEntries?: number;
}

/** What a load found: the skills, and the files it skipped and why. */
export interface LoadedSkills {
  /** Ferry skills, ready for `agent_context.skills`; `toSkillInfo` gives OpenHands' view. */
  skills: Skill[];
  /** One error per file skipped (malformed, too large, a symlink leading out, ...). */
  errors: SkillFileError[];
}

/** Options of {@link loadProjectSkills}. */
export interface LoadProjectSkillsOptions extends SkillLoadLimits {
  /** The project folder. */
  projectDir: string;
  /**
   * Refuse a `projectDir` that is not inside this folder, by its path or through symlinks
   * ({@link PathOutsideWorkspaceError}); a server passes its workspace root.
   */
  within?: string;
}

/** Options of {@link loadUserSkills}. */
export interface LoadUserSkillsOptions extends SkillLoadLimits {
  /** Skill folders, most important first; {@link defaultUserSkillDirectories} are OpenHands'. */
  directories: readonly string[];
}

/**
 * The user skill folders OpenHands reads, most important first: `~/.agents/skills`,
 * `~/.openhands/skills`, `~/.openhands/microagents` (legacy).
 */
export function defaultUserSkillDirectories(home: string = homedir()): string[] {
  return PROJECT_SKILL_DIRECTORIES.map((directory) => join(home, directory));
}

/**
 * Merges skill lists by name, a later list's skill replacing an earlier one's of the same name
 * in its place (OpenHands' precedence: sandbox < public < user < org < project).
 */
export function mergeSkills(lists: readonly (readonly Skill[])[]): Skill[] {
  const byName = new Map<string, Skill>();
  for (const list of lists) for (const skill of list) byName.set(skill.name, skill);
  return [...byName.values()];
}

/** Keeps the first skill of each name. */
class FirstWins {
  readonly skills: Skill[] = [];
  readonly #names = new Set<string>();

  add(skills: Iterable<Skill>): void {
    for (const skill of skills) {
      if (this.#names.has(skill.name)) continue;
      this.#names.add(skill.name);
      this.skills.push(skill);
    }
  }
}

interface ReadContext {
  folder: ConfinedFolder;
  limits: Required<SkillLoadLimits>;
}

function limitsOf(options: SkillLoadLimits): Required<SkillLoadLimits> {
  return {
    maxFileBytes: options.maxFileBytes ?? DEFAULT_MAX_SKILL_FILE_BYTES,
    maxEntries: options.maxEntries ?? DEFAULT_MAX_SKILL_ENTRIES,
  };
}

/** Loads one file into a skill, or reports it and gives nothing. */
async function loadFile(
  folder: ConfinedFolder,
  path: string,
  build: (text: string) => Skill,
): Promise<Skill | undefined> {
  try {
    return build(await folder.readText(path));
  } catch (error) {
    if (!SkillFileError.isInstance(error)) throw error;
    folder.report(error);
    return undefined;
  }
}

const isSkillMd = (name: string) => name.toLowerCase() === 'skill.md';

/**
 * The `.md` files below `directory` (not `README.md`, not in AgentSkills folders), in the order
 * of their sorted paths, as far as the entry budget goes.
 */
async function regularMarkdownFiles(
  context: ReadContext,
  directory: string,
  skip: ReadonlySet<string>,
): Promise<string[]> {
  const files: string[] = [];
  const visited = new Set<string>();
  let entries = 0;
  const walk = async (current: string, real: string): Promise<boolean> => {
    if (visited.has(real)) return true;
    visited.add(real);
    const wanted = (name: string, kind: FolderEntry['kind']) =>
      kind === 'directory' || name.endsWith('.md');
    for (const entry of await context.folder.list(current, wanted)) {
      if ((entries += 1) > context.limits.maxEntries) return false;
      if (entry.kind === 'directory') {
        if (!skip.has(entry.path) && !(await walk(entry.path, entry.real))) return false;
      } else if (
        entry.name.endsWith('.md') &&
        entry.name !== 'README.md' &&
        !isSkillMd(entry.name)
      ) {
        files.push(entry.path);
      }
    }
    return true;
  };
  const real = await realpath(directory).catch(() => directory);
  if (!(await walk(directory, real))) {
    context.folder.report(
      new SkillFileError({
        path: directory,
        reason: `it holds more than ${context.limits.maxEntries} files and folders; the rest were not read`,
      }),
    );
  }
  return files;
}

/**
 * The skills of one skill folder: `<name>/SKILL.md` AgentSkills folders and other `.md` files
 * at any depth, named by their path without `.md` unless the frontmatter names them. Listed as
 * OpenHands lists them: always-on ones, then triggered ones, then AgentSkills.
 */
async function readSkillFolder(context: ReadContext, directory: string): Promise<Skill[]> {
  const { folder } = context;
  const categories = { repo: new Map<string, Skill>(), knowledge: new Map<string, Skill>() };
  const agentSkills = new Map<string, Skill>();
  const skillFolders = new Set<string>();
  const subfolders = await folder.list(directory, (_name, kind) => kind === 'directory');
  for (const subfolder of subfolders.filter((entry) => entry.kind === 'directory')) {
    const files = await folder.list(
      subfolder.path,
      (name, kind) => kind === 'file' && isSkillMd(name),
    );
    const skillMd = files.find((entry) => entry.kind === 'file' && isSkillMd(entry.name));
    if (skillMd === undefined) continue;
    skillFolders.add(subfolder.path);
    const origin = { path: skillMd.path, defaultName: subfolder.name, agentSkills: true };
    const skill = await loadFile(folder, skillMd.path, (text) => skillFromFile(origin, text));
    if (skill !== undefined) agentSkills.set(skill.name, skill);
  }
  for (const path of await regularMarkdownFiles(context, directory, skillFolders)) {
    const relativePath = relative(directory, path).split(sep).join('/');
    const fileName = relativePath.split('/').at(-1) ?? relativePath;
    const thirdParty = THIRD_PARTY_SKILL_FILES[fileName.toLowerCase()];
    const origin = { path, defaultName: relativePath.slice(0, -'.md'.length), agentSkills: false };
    const skill = await loadFile(folder, path, (text) =>
      thirdParty === undefined
        ? skillFromFile(origin, text)
        : thirdPartySkill(thirdParty, path, text),
    );
    if (skill !== undefined) {
      categories[skill.trigger == null ? 'repo' : 'knowledge'].set(skill.name, skill);
    }
  }
  return [...categories.repo.values(), ...categories.knowledge.values(), ...agentSkills.values()];
}

/**
 * `AGENTS.md`, `CLAUDE.md`, `GEMINI.md`, `AGENT.md` and `.cursorrules` directly in `directory`
 * (any case), each an always-on skill of its whole text. A second file of the same name in
 * another case, or a symlink to one already read, is left out.
 */
async function readThirdPartyFiles(context: ReadContext, directory: string): Promise<Skill[]> {
  const { folder } = context;
  const isThirdParty = (name: string) => THIRD_PARTY_SKILL_FILES[name.toLowerCase()] !== undefined;
  const entries = await folder.list(
    directory,
    (name, kind) => kind === 'file' && isThirdParty(name),
  );
  const seenNames = new Set<string>();
  const seenFiles = new Set<string>();
  const skills: Skill[] = [];
  for (const entry of entries) {
    const lower = entry.name.toLowerCase();
    const name = THIRD_PARTY_SKILL_FILES[lower];
    if (entry.kind !== 'file' || name === undefined) continue;
    if (seenNames.has(lower) || seenFiles.has(entry.real)) continue;
    seenNames.add(lower);
    seenFiles.add(entry.real);
    const skill = await loadFile(folder, entry.path, (text) =>
      thirdPartySkill(name, entry.path, text),
    );
    if (skill !== undefined) skills.push(skill);
  }
  return skills;
}

function isInside(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/** Refuses a project folder outside `within`, by its path or where its symlinks lead. */
async function checkWithin(projectDir: string, within: string): Promise<void> {
  const root = resolve(within);
  const refuse = () => new PathOutsideWorkspaceError(projectDir, [root]);
  if (!isInside(projectDir, root)) throw refuse();
  const [realProject, realRoot] = await Promise.all([
    realpath(projectDir).catch(() => undefined),
    realpath(root).catch(() => root),
  ]);
  if (realProject !== undefined && !isInside(realProject, realRoot)) throw refuse();
}

/**
 * Loads a project's skills as OpenHands does: the instruction files of other agents at its
 * root (`AGENTS.md`, `CLAUDE.md`, `GEMINI.md`, `AGENT.md`, `.cursorrules`), then the skill
 * folders `.agents/skills`, `.openhands/skills` and `.openhands/microagents`; on a duplicate
 * name the first found wins. A missing folder has no skills.
 *
 * Nothing outside `projectDir` is read: a symlink leading out is reported and not followed. A
 * malformed, unreadable or oversized file is reported in `errors` ({@link SkillFileError},
 * naming it) and skipped, so one bad file costs only itself. Unlike OpenHands, skills of an
 * enclosing git repository's root and nested `AGENTS.md` files are not read.
 *
 * Ferry runs an AgentSkills skill without triggers as an always-on skill (OpenHands lists it
 * and lets the model read it on demand), and matches keyword triggers only.
 */
export async function loadProjectSkills(options: LoadProjectSkillsOptions): Promise<LoadedSkills> {
  const projectDir = resolve(options.within ?? '.', options.projectDir);
  if (options.within !== undefined) await checkWithin(projectDir, options.within);
  const errors: SkillFileError[] = [];
  const limits = limitsOf(options);
  const folder = await ConfinedFolder.open({
    path: projectDir,
    maxFileBytes: limits.maxFileBytes,
    errors,
  });
  if (folder === undefined) return { skills: [], errors };
  const context = { folder, limits };
  const found = new FirstWins();
  found.add(await readThirdPartyFiles(context, projectDir));
  for (const directory of PROJECT_SKILL_DIRECTORIES) {
    const path = join(projectDir, directory);
    if (await folder.isDirectory(path)) found.add(await readSkillFolder(context, path));
  }
  return { skills: found.skills, errors };
}

/**
 * Loads the skills of user skill folders (each read like a project's `.agents/skills`); on a
 * duplicate name the earlier folder wins. A missing folder has no skills. Each folder is a
 * boundary of its own: a symlink leading out of it is reported and not followed. Errors as in
 * {@link loadProjectSkills}.
 */
export async function loadUserSkills(options: LoadUserSkillsOptions): Promise<LoadedSkills> {
  const errors: SkillFileError[] = [];
  const limits = limitsOf(options);
  const found = new FirstWins();
  for (const directory of options.directories) {
    const path = resolve(directory);
    const folder = await ConfinedFolder.open({ path, maxFileBytes: limits.maxFileBytes, errors });
    if (folder !== undefined) found.add(await readSkillFolder({ folder, limits }, path));
  }
  return { skills: found.skills, errors };
}
