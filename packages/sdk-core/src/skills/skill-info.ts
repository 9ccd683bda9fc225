import { z } from 'zod';
import type { Skill } from '../agent/agent-schema';

/**
 * OpenHands' `SkillInfo`: the listing view of a skill that `POST /api/skills` answers. `type` is
 * `agentskills` for a `SKILL.md` folder, `repo` for an always-on skill (no trigger), `knowledge`
 * for a triggered one.
 */
export const skillInfoSchema = z.object({
  name: z.string(),
  type: z.enum(['repo', 'knowledge', 'agentskills']),
  content: z.string(),
  triggers: z.array(z.string()),
  source: z.string().nullable(),
  description: z.string().nullable(),
  is_agentskills_format: z.boolean(),
  disable_model_invocation: z.boolean(),
});
export type SkillInfo = z.infer<typeof skillInfoSchema>;

/** The keywords of a keyword or task trigger; none for other triggers or none at all. */
function triggerWords(trigger: Skill['trigger']): string[] {
  if (trigger === null || trigger === undefined) return [];
  const words =
    trigger.type === 'keyword' ? trigger.keywords : trigger.type === 'task' ? trigger.triggers : [];
  return Array.isArray(words)
    ? words.filter((word): word is string => typeof word === 'string')
    : [];
}

/** The OpenHands `SkillInfo` view of a Ferry skill (as `Skill.to_skill_info()` gives it). */
export function toSkillInfo(skill: Skill): SkillInfo {
  const agentSkills = skill.is_agentskills_format === true;
  return {
    name: skill.name,
    type: agentSkills ? 'agentskills' : skill.trigger == null ? 'repo' : 'knowledge',
    content: skill.content,
    triggers: triggerWords(skill.trigger),
    source: skill.source ?? null,
    description: skill.description ?? null,
    is_agentskills_format: agentSkills,
    disable_model_invocation: skill.disable_model_invocation === true,
  };
}
