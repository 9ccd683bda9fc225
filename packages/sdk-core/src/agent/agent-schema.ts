import { z } from 'zod';
import { llmSchema } from '../llm/llm-schema';

/** A tool the agent offers, referenced by registered name (OpenHands' `Tool` spec). */
export const toolSpecSchema = z.looseObject({
  name: z.string().min(1),
  params: z.record(z.string(), z.unknown()).default({}),
});
export type ToolSpec = z.infer<typeof toolSpecSchema>;

/** When a skill's content is added to the conversation. */
export const skillTriggerSchema = z.union([
  z.looseObject({ type: z.literal('keyword'), keywords: z.array(z.string()) }),
  z.looseObject({ type: z.literal('task'), triggers: z.array(z.string()) }),
  z.looseObject({ type: z.string() }),
]);
export type SkillTrigger = z.infer<typeof skillTriggerSchema>;

/**
 * A skill (knowledge or repo microagent): always on without a trigger, else keyword-triggered.
 * `loadProjectSkills` and `loadUserSkills` read them from skill folders.
 */
export const skillSchema = z.looseObject({
  name: z.string().min(1),
  content: z.string(),
  trigger: skillTriggerSchema.nullish(),
  description: z.string().nullish(),
  source: z.string().nullish(),
  /** Loaded from an AgentSkills `SKILL.md` folder (OpenHands lists it as type `agentskills`). */
  is_agentskills_format: z.boolean().optional(),
  /** Only its trigger activates it; OpenHands does not offer it to the model to invoke. */
  disable_model_invocation: z.boolean().optional(),
});
export type Skill = z.infer<typeof skillSchema>;

/** Extra context for the agent: skills, prompt suffixes and named secrets. */
export const agentContextSchema = z.looseObject({
  skills: z.array(skillSchema).default([]),
  system_message_suffix: z.string().nullish(),
  user_message_suffix: z.string().nullish(),
  /** Secret name -> value (a string) or a secret-source document. */
  secrets: z.record(z.string(), z.unknown()).nullish(),
});
export type AgentContext = z.infer<typeof agentContextSchema>;

/** The condenser that summarises old events when the view grows past `max_size`. */
export const llmSummarizingCondenserSchema = z.looseObject({
  kind: z.literal('LLMSummarizingCondenser'),
  llm: llmSchema,
  max_size: z.number().int().positive().default(120),
  keep_first: z.number().int().nonnegative().default(4),
});
export type LLMSummarizingCondenser = z.infer<typeof llmSummarizingCondenserSchema>;

/** Any condenser document; unknown condenser kinds are kept as they are. */
export const condenserSchema = z.union([
  llmSummarizingCondenserSchema,
  z.looseObject({ kind: z.string().min(1) }),
]);
export type Condenser = z.infer<typeof condenserSchema>;

/** Tools every agent gets unless `include_default_tools` says otherwise (class names). */
export const defaultIncludedTools = ['FinishTool', 'ThinkTool'] as const;

/**
 * The agent document (OpenHands' `Agent`): its LLM, the tools it offers, MCP servers, context,
 * prompts and condenser. A plain validated document: behaviour lives in the conversation.
 */
export const agentSchema = z.looseObject({
  kind: z.string().min(1).default('Agent'),
  llm: llmSchema,
  tools: z.array(toolSpecSchema).default([]),
  mcp_config: z.record(z.string(), z.unknown()).default({}),
  filter_tools_regex: z.string().nullish(),
  include_default_tools: z.array(z.string()).default([...defaultIncludedTools]),
  agent_context: agentContextSchema.nullish(),
  system_prompt: z.string().nullish(),
  system_prompt_filename: z.string().optional(),
  security_policy_filename: z.string().optional(),
  system_prompt_kwargs: z.record(z.string(), z.unknown()).default({}),
  condenser: condenserSchema.nullish(),
});
/** A parsed agent document (defaults applied). */
export type Agent = z.infer<typeof agentSchema>;
/** An agent document as a user writes it: only `llm` is required. */
export type AgentInput = z.input<typeof agentSchema>;

/** Parses and validates an agent document; throws a zod error naming the bad fields. */
export function parseAgent(input: unknown): Agent {
  return agentSchema.parse(input);
}
