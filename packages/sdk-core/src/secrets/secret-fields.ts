import type { Agent } from '../agent/agent-schema';
import type { ConversationState } from '../conversation/state-schema';
import { llmSecretFields } from '../llm/llm-schema';

/** Maps one secret string to what should stand in its place. */
export type SecretMapper = (value: string, path: string) => string | undefined;

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function mapStringValues(record: unknown, path: string, map: SecretMapper): unknown {
  if (!isRecord(record)) return record;
  const out: Json = {};
  for (const [key, value] of Object.entries(record)) {
    out[key] = typeof value === 'string' ? map(value, `${path}.${key}`) : value;
  }
  return out;
}

function mapLLM(llm: unknown, path: string, map: SecretMapper): unknown {
  if (!isRecord(llm)) return llm;
  const out: Json = { ...llm };
  for (const field of llmSecretFields) {
    const value = out[field];
    if (typeof value === 'string') out[field] = map(value, `${path}.${field}`);
  }
  return out;
}

/** MCP servers carry tokens in `env` and `headers`; those values are secrets. */
function mapMcpConfig(config: unknown, path: string, map: SecretMapper): unknown {
  if (!isRecord(config)) return config;
  const out: Json = { ...config };
  for (const [groupKey, group] of Object.entries(config)) {
    if (!isRecord(group)) continue;
    const servers: Json = {};
    for (const [name, server] of Object.entries(group)) {
      if (!isRecord(server)) {
        servers[name] = server;
        continue;
      }
      const base = `${path}.${groupKey}.${name}`;
      servers[name] = {
        ...server,
        ...(server.env === undefined
          ? {}
          : { env: mapStringValues(server.env, `${base}.env`, map) }),
        ...(server.headers === undefined
          ? {}
          : { headers: mapStringValues(server.headers, `${base}.headers`, map) }),
      };
    }
    out[groupKey] = servers;
  }
  return out;
}

function mapAgentContextSecrets(context: unknown, path: string, map: SecretMapper): unknown {
  if (!isRecord(context) || !isRecord(context.secrets)) return context;
  const secrets: Json = {};
  for (const [name, value] of Object.entries(context.secrets)) {
    const at = `${path}.secrets.${name}`;
    if (typeof value === 'string') secrets[name] = map(value, at);
    else if (isRecord(value)) secrets[name] = mapSecretSource(value, at, map);
    else secrets[name] = value;
  }
  return { ...context, secrets };
}

function mapSecretSource(source: Json, path: string, map: SecretMapper): Json {
  const out: Json = { ...source };
  if (typeof source.value === 'string') out.value = map(source.value, `${path}.value`);
  if (source.headers !== undefined)
    out.headers = mapStringValues(source.headers, `${path}.headers`, map);
  return out;
}

/**
 * Returns a copy of the agent with every secret (LLM keys and AWS credentials, the
 * condenser's LLM too, MCP env/headers, agent_context secrets) replaced by `map(value)`.
 * A mapper returning `undefined` removes the value.
 */
export function mapAgentSecrets<T extends Agent>(agent: T, map: SecretMapper): T {
  const out: Json = { ...agent, llm: mapLLM(agent.llm, 'llm', map) };
  if (isRecord(agent.condenser) && 'llm' in agent.condenser) {
    out.condenser = { ...agent.condenser, llm: mapLLM(agent.condenser.llm, 'condenser.llm', map) };
  }
  if (agent.mcp_config !== undefined)
    out.mcp_config = mapMcpConfig(agent.mcp_config, 'mcp_config', map);
  if (agent.agent_context !== undefined && agent.agent_context !== null) {
    out.agent_context = mapAgentContextSecrets(agent.agent_context, 'agent_context', map);
  }
  return dropUndefined(out) as T;
}

/** Like {@link mapAgentSecrets} for a whole state document (agent and secret registry). */
export function mapStateSecrets(state: ConversationState, map: SecretMapper): ConversationState {
  const sources: Json = {};
  for (const [name, source] of Object.entries(state.secret_registry.secret_sources)) {
    sources[name] = mapSecretSource(source, `secret_registry.secret_sources.${name}`, map);
  }
  return {
    ...state,
    agent: mapAgentSecrets(state.agent, map),
    secret_registry: {
      ...state.secret_registry,
      secret_sources: dropUndefined(
        sources,
      ) as ConversationState['secret_registry']['secret_sources'],
    },
  };
}

/** Removes keys whose value became `undefined`, recursively in plain objects. */
function dropUndefined(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(dropUndefined);
  if (!isRecord(value)) return value;
  const out: Json = {};
  for (const [key, item] of Object.entries(value)) {
    if (item !== undefined) out[key] = dropUndefined(item);
  }
  return out;
}
