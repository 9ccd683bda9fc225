import type { Agent, Skill } from './agent-schema';

/** Ferry's default system prompt, used when the agent sets no `system_prompt`. */
export const DEFAULT_SYSTEM_PROMPT = `You are Ferry, a careful software engineering agent.
You solve the user's task by calling the tools you are given, one step at a time.
- Read before you write: look at files and run commands to understand the situation.
- Make small, verifiable changes and check them (run the program or its tests).
- Never invent tool results; if a tool fails, read the error and adapt.
- When the task is done, or cannot be done, call the finish tool with a short summary.`;

const PLACEHOLDER = /\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g;

/** Replaces `{{ name }}` placeholders with `system_prompt_kwargs` values (missing ones stay). */
export function renderTemplate(template: string, values: Record<string, unknown>): string {
  return template.replace(PLACEHOLDER, (match, name: string) => {
    const value = values[name];
    if (value === undefined) return match;
    return typeof value === 'string' ? value : JSON.stringify(value);
  });
}

function isAlwaysOn(skill: Skill): boolean {
  return skill.trigger === undefined || skill.trigger === null;
}

/**
 * The system prompt of the agent as it is now: its prompt (or Ferry's default) rendered with
 * `system_prompt_kwargs`, then the always-on skills, then `system_message_suffix`. Built from
 * the current agent at every LLM call, so a resume with new prompts takes effect.
 */
export function renderSystemPrompt(agent: Agent): string {
  const parts = [
    renderTemplate(agent.system_prompt ?? DEFAULT_SYSTEM_PROMPT, agent.system_prompt_kwargs),
  ];
  const skills = (agent.agent_context?.skills ?? []).filter(isAlwaysOn);
  if (skills.length > 0) {
    parts.push(
      [
        '<SKILLS>',
        ...skills.map((skill) => `<SKILL name="${skill.name}">\n${skill.content}\n</SKILL>`),
        '</SKILLS>',
      ].join('\n'),
    );
  }
  const suffix = agent.agent_context?.system_message_suffix;
  if (suffix) parts.push(suffix);
  return parts.join('\n\n');
}

/** Keywords of the keyword-triggered skills, by skill. */
export function keywordSkills(agent: Agent): { skill: Skill; keywords: string[] }[] {
  const out: { skill: Skill; keywords: string[] }[] = [];
  for (const skill of agent.agent_context?.skills ?? []) {
    const trigger = skill.trigger;
    if (
      trigger &&
      trigger.type === 'keyword' &&
      'keywords' in trigger &&
      Array.isArray(trigger.keywords)
    ) {
      out.push({
        skill,
        keywords: trigger.keywords.filter((k): k is string => typeof k === 'string'),
      });
    }
  }
  return out;
}
