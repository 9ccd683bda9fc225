import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { Skill, SkillTrigger } from '../agent/agent-schema';
import { SkillFileError } from '../errors/skill-file-error';
import { truncateMiddle } from '../tool/truncate-middle';

/**
 * Instruction files other agents read, by lower-case file name, and the name of the always-on
 * skill each becomes (OpenHands' `PATH_TO_THIRD_PARTY_SKILL_NAME`).
 */
export const THIRD_PARTY_SKILL_FILES: Readonly<Record<string, string>> = {
  '.cursorrules': 'cursorrules',
  'agents.md': 'agents',
  'agent.md': 'agents',
  'claude.md': 'claude',
  'gemini.md': 'gemini',
};

/** The rule of AgentSkills names: lower-case letters and digits in groups joined by one `-`. */
const AGENT_SKILL_NAME = /^[a-z0-9]+(-[a-z0-9]+)*$/;
const MAX_AGENT_SKILL_NAME = 64;
/** Longest description kept whole (the AgentSkills limit); longer ones lose their middle. */
export const MAX_SKILL_DESCRIPTION = 1024;
const FENCE = /^-{3,}\s*$/;
const VARIABLE = /\$\{[a-zA-Z_][a-zA-Z0-9_]*\}/;
const ASK_FOR_VARIABLES =
  '\n\nIf the user has not given a value for each of these variables, ask for the missing ones ' +
  'before going on with the task.';

const stringList = z.array(z.string());
const inputsSchema = z.array(z.looseObject({ name: z.string(), description: z.string() }));
const flagSchema = z.union([z.boolean(), z.stringbool()]);

/**
 * Splits `---` YAML frontmatter off a markdown file: its fields, and the rest trimmed. A file
 * without frontmatter (or whose fence never closes) is all content; frontmatter that is not a
 * mapping is ignored, as OpenHands does; YAML that does not parse is a {@link SkillFileError}.
 */
export function splitFrontmatter(
  text: string,
  path: string,
): { fields: Record<string, unknown>; content: string } {
  const trimmed = text.trim();
  const lines = trimmed.split('\n');
  const close = FENCE.test(lines[0] ?? '') ? lines.findIndex((l, i) => i > 0 && FENCE.test(l)) : -1;
  if (close < 0) return { fields: {}, content: trimmed };
  let parsed: unknown;
  try {
    parsed = parseYaml(lines.slice(1, close).join('\n'), { uniqueKeys: false });
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new SkillFileError({
      path,
      reason: `its frontmatter is not valid YAML (${reason})`,
      cause: error,
    });
  }
  const fields =
    typeof parsed === 'object' && parsed !== null && !Array.isArray(parsed)
      ? (parsed as Record<string, unknown>)
      : {};
  return {
    fields,
    content: lines
      .slice(close + 1)
      .join('\n')
      .trim(),
  };
}

/** The value of a frontmatter field, checked; a wrong type is a {@link SkillFileError}. */
function field<T>(
  fields: Record<string, unknown>,
  keys: readonly string[],
  schema: z.ZodType<T>,
  path: string,
  expected: string,
): T | undefined {
  const key = keys.find((candidate) => fields[candidate] != null);
  if (key === undefined) return undefined;
  const result = schema.safeParse(fields[key]);
  if (!result.success) throw new SkillFileError({ path, reason: `\`${key}\` must be ${expected}` });
  return result.data;
}

/** `paths` globs: a comma-separated string or a list, blanks dropped. */
function pathGlobs(fields: Record<string, unknown>, path: string): string[] {
  const value = field(
    fields,
    ['paths'],
    z.union([z.string(), z.array(z.unknown())]),
    path,
    'a string or a list',
  );
  const items = typeof value === 'string' ? value.split(',') : (value ?? []);
  return items.map((item) => String(item).trim()).filter((item) => item !== '');
}

/** The trigger OpenHands infers: path globs first, then task inputs, then keywords, else none. */
function inferTrigger(
  fields: Record<string, unknown>,
  name: string,
  path: string,
): { trigger: SkillTrigger | null; inputs?: z.infer<typeof inputsSchema> } {
  const keywords = field(fields, ['triggers'], stringList, path, 'a list of strings') ?? [];
  const paths = pathGlobs(fields, path);
  if (paths.length > 0) return { trigger: { type: 'path', paths } };
  if ('inputs' in fields) {
    const inputs =
      field(fields, ['inputs'], inputsSchema, path, 'a list of { name, description }') ?? [];
    const command = `/${name}`;
    const triggers = keywords.includes(command) ? keywords : [...keywords, command];
    return { trigger: { type: 'task', triggers }, inputs };
  }
  return { trigger: keywords.length > 0 ? { type: 'keyword', keywords } : null };
}

/** `description`, its middle cut past {@link MAX_SKILL_DESCRIPTION} with a note of where it is whole. */
function shortDescription(description: string | undefined, path: string): string | undefined {
  if (description === undefined) return undefined;
  const marker = `<response clipped><NOTE>The description is cut here; the whole skill is in ${path}.</NOTE>`;
  return truncateMiddle(description, {
    maxChars: Math.max(0, MAX_SKILL_DESCRIPTION - marker.length),
    marker: () => marker,
  }).text;
}

/** What {@link skillFromFile} needs to know of a file besides its text. */
export interface SkillFileOrigin {
  /** The file's path: the skill's `source`, and named in errors. */
  path: string;
  /** The name when the frontmatter gives none: the folder's for `SKILL.md`, else the relative path. */
  defaultName: string;
  /** An AgentSkills `SKILL.md`: its name must follow the AgentSkills rule and match its folder. */
  agentSkills: boolean;
}

/**
 * The skill a markdown file with optional frontmatter describes, as OpenHands reads it:
 * `name` (else the default), `triggers` (keywords), `inputs` (a task skill, also triggered by
 * `/<name>`), `paths` (path globs, never offered to the model), `description`,
 * `disable-model-invocation`. Other fields (`type`, `version`, `license`, `mcp_tools`, ...) are
 * not read. A bad field is a {@link SkillFileError} naming the file.
 */
export function skillFromFile(origin: SkillFileOrigin, text: string): Skill {
  const { path } = origin;
  const { fields, content } = splitFrontmatter(text, path);
  const name =
    field(
      fields,
      ['name'],
      z.union([z.string(), z.number()]).transform(String),
      path,
      'a string',
    ) ?? origin.defaultName;
  if (origin.agentSkills) {
    const problem =
      name.length > MAX_AGENT_SKILL_NAME
        ? `is longer than ${MAX_AGENT_SKILL_NAME} characters`
        : !AGENT_SKILL_NAME.test(name)
          ? 'must be lower-case letters and digits with single hyphens (e.g. "pdf-tools")'
          : name !== origin.defaultName
            ? `must match its folder "${origin.defaultName}"`
            : undefined;
    if (problem !== undefined) {
      throw new SkillFileError({ path, reason: `the AgentSkills name "${name}" ${problem}` });
    }
  }
  const { trigger, inputs } = inferTrigger(fields, name, path);
  const description = field(fields, ['description'], z.string(), path, 'a string');
  const disable = field(
    fields,
    ['disable-model-invocation', 'disable_model_invocation'],
    flagSchema,
    path,
    'true or false',
  );
  const asks = inputs !== undefined && (inputs.length > 0 || VARIABLE.test(content));
  const shortened = shortDescription(description, path);
  return {
    name,
    content: asks && !content.includes(ASK_FOR_VARIABLES) ? content + ASK_FOR_VARIABLES : content,
    trigger,
    source: path,
    ...(shortened === undefined ? {} : { description: shortened }),
    ...(inputs === undefined ? {} : { inputs }),
    is_agentskills_format: origin.agentSkills,
    // Path rules only ever fire on a touched file.
    disable_model_invocation: trigger?.type === 'path' || disable === true,
  };
}

/** An instruction file of another agent (`AGENTS.md`, ...): its whole text, always on. */
export function thirdPartySkill(name: string, path: string, text: string): Skill {
  return {
    name,
    content: text,
    trigger: null,
    source: path,
    is_agentskills_format: false,
    disable_model_invocation: false,
  };
}
