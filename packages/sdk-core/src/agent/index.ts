export {
  agentContextSchema,
  agentSchema,
  condenserSchema,
  defaultIncludedTools,
  llmSummarizingCondenserSchema,
  parseAgent,
  skillSchema,
  skillTriggerSchema,
  toolSpecSchema,
} from './agent-schema';
export type {
  Agent,
  AgentContext,
  AgentInput,
  Condenser,
  LLMSummarizingCondenser,
  Skill,
  SkillTrigger,
  ToolSpec,
} from './agent-schema';
export { planResume, verifyAgent } from './verify-agent';
export {
  RUNNABLE_AGENT_KINDS,
  RUNNABLE_CONDENSER_KINDS,
  assertRunnableAgent,
} from './runnable-agent';
export type { ResumeChange, ResumePlan, ResumeProblem } from './verify-agent';
export {
  LLMContextBuilder,
  MISSING_RESULT_TEXT,
  buildLLMContext,
  condensedView,
} from './build-messages';
export type {
  BuildLLMContextOptions,
  CondensedView,
  LLMContextEvents,
  LLMContext,
} from './build-messages';
export {
  DEFAULT_SYSTEM_PROMPT,
  keywordSkills,
  renderSystemPrompt,
  renderTemplate,
} from './system-prompt';
