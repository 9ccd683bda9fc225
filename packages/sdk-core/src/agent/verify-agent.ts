import { AgentKindMismatchError } from '../errors/agent-kind-mismatch-error';
import { ToolsRemovedError } from '../errors/tools-removed-error';
import { REDACTED_SECRET } from '../secrets/secret-cipher';
import { mapAgentSecrets } from '../secrets/secret-fields';
import { agentSchema, type Agent, type AgentInput } from './agent-schema';

/** One field that differs between the persisted agent and the runtime one. */
export interface ResumeChange {
  /** Dotted path, e.g. `llm.model` or `agent_context.system_message_suffix`. */
  path: string;
  /** Persisted value (`**********` for a secret; `undefined` when absent). */
  old: unknown;
  /** Runtime value (`**********` for a secret; `undefined` when absent). */
  new: unknown;
  /** True when the field holds a secret, whose values are never shown. */
  secret: boolean;
}

/** Why the runtime agent cannot resume the conversation. */
export type ResumeProblem =
  | { code: 'AGENT_KIND_MISMATCH'; message: string; persisted: string; runtime: string }
  | { code: 'TOOLS_REMOVED'; message: string; removed: string[] };

/** What a resume with a given agent would do, computed without side effects. */
export interface ResumePlan {
  /** True when the resume would be allowed. */
  compatible: boolean;
  problems: ResumeProblem[];
  /** Every field that would change, secrets redacted. Empty when the agents are equal. */
  changes: ResumeChange[];
  /** The parsed runtime agent (defaults applied). */
  agent: Agent;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stableJson(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    isRecord(item)
      ? Object.fromEntries(Object.entries(item).sort(([a], [b]) => a.localeCompare(b)))
      : item,
  );
}

function secretPaths(agent: Agent): Set<string> {
  const paths = new Set<string>();
  mapAgentSecrets(agent, (value, path) => {
    paths.add(path);
    return value;
  });
  return paths;
}

interface DiffSide {
  value: unknown;
  /** The same value with secrets redacted: what a change shows. */
  shown: unknown;
}

function child(side: DiffSide, key: string): DiffSide {
  return {
    value: isRecord(side.value) ? side.value[key] : undefined,
    shown: isRecord(side.shown) ? side.shown[key] : undefined,
  };
}

/** Recurses into objects (a missing side counts as empty) so each change is one leaf. */
function diff(
  old: DiffSide,
  next: DiffSide,
  path: string,
  isSecret: (path: string) => boolean,
  out: ResumeChange[],
): void {
  const oldIsRecord = isRecord(old.value);
  const nextIsRecord = isRecord(next.value);
  if (
    (oldIsRecord || nextIsRecord) &&
    (oldIsRecord || old.value == null) &&
    (nextIsRecord || next.value == null)
  ) {
    const keys = new Set([
      ...Object.keys(oldIsRecord ? (old.value as object) : {}),
      ...Object.keys(nextIsRecord ? (next.value as object) : {}),
    ]);
    for (const key of [...keys].sort()) {
      diff(child(old, key), child(next, key), path === '' ? key : `${path}.${key}`, isSecret, out);
    }
    return;
  }
  if (stableJson(old.value ?? null) === stableJson(next.value ?? null)) return;
  out.push({ path, old: old.shown, new: next.shown, secret: isSecret(path) });
}

function redact(agent: Agent): Agent {
  return mapAgentSecrets(agent, () => REDACTED_SECRET);
}

function toolNames(agent: Agent): string[] {
  return agent.tools.map((tool) => tool.name);
}

/**
 * Compares a runtime agent with the persisted one and says whether a resume is allowed and
 * what would change, field by field. Never throws for an incompatible agent: the verdict is in
 * `compatible` and `problems`. (A runtime agent that is not a valid document does throw.)
 *
 * Rules: the agent `kind` must be equal; tools (explicit and default) may be added, never
 * removed; everything else may change.
 */
export function planResume(runtime: AgentInput | Agent, persisted: Agent): ResumePlan {
  const agent = agentSchema.parse(runtime);
  const problems: ResumeProblem[] = [];
  if (agent.kind !== persisted.kind) {
    const error = new AgentKindMismatchError(persisted.kind, agent.kind);
    problems.push({
      code: 'AGENT_KIND_MISMATCH',
      message: error.message,
      persisted: persisted.kind,
      runtime: agent.kind,
    });
  }
  const runtimeTools = new Set(toolNames(agent));
  const runtimeDefaults = new Set(agent.include_default_tools);
  const removed = [
    ...toolNames(persisted).filter((name) => !runtimeTools.has(name)),
    ...persisted.include_default_tools.filter((name) => !runtimeDefaults.has(name)),
  ];
  if (removed.length > 0) {
    problems.push({
      code: 'TOOLS_REMOVED',
      message: new ToolsRemovedError(removed).message,
      removed,
    });
  }
  const secrets = new Set([...secretPaths(persisted), ...secretPaths(agent)]);
  const isSecret = (path: string) => secrets.has(path);
  const changes: ResumeChange[] = [];
  diff(
    { value: persisted, shown: redact(persisted) },
    { value: agent, shown: redact(agent) },
    '',
    isSecret,
    changes,
  );
  return { compatible: problems.length === 0, problems, changes, agent };
}

/**
 * Checks that `runtime` may resume a conversation written by `persisted` and returns the
 * parsed runtime agent. Throws {@link AgentKindMismatchError} or {@link ToolsRemovedError}.
 */
export function verifyAgent(runtime: AgentInput | Agent, persisted: Agent): Agent {
  const plan = planResume(runtime, persisted);
  for (const problem of plan.problems) {
    if (problem.code === 'AGENT_KIND_MISMATCH') {
      throw new AgentKindMismatchError(problem.persisted, problem.runtime);
    }
  }
  for (const problem of plan.problems) {
    if (problem.code === 'TOOLS_REMOVED') throw new ToolsRemovedError(problem.removed);
  }
  return plan.agent;
}
