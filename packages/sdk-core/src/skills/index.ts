export {
  DEFAULT_MAX_SKILL_ENTRIES,
  DEFAULT_MAX_SKILL_FILE_BYTES,
  PROJECT_SKILL_DIRECTORIES,
  defaultUserSkillDirectories,
  loadProjectSkills,
  loadUserSkills,
  mergeSkills,
} from './load-skills';
export type {
  LoadProjectSkillsOptions,
  LoadUserSkillsOptions,
  LoadedSkills,
  SkillLoadLimits,
} from './load-skills';
export { MAX_SKILL_DESCRIPTION, THIRD_PARTY_SKILL_FILES, skillFromFile } from './skill-document';
export type { SkillFileOrigin } from './skill-document';
export { skillInfoSchema, toSkillInfo } from './skill-info';
export type { SkillInfo } from './skill-info';
