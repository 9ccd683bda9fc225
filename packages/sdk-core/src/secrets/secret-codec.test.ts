import { describe, expect, it } from 'vitest';
import { conversationStateSchema } from '../conversation/state-schema';
import { REDACTED_SECRET, SecretCipher } from './secret-cipher';
import { collectSecretValues, redactAgent, sealState, unsealState } from './secret-codec';

const state = conversationStateSchema.parse({
  id: 'c1',
  workspace: { kind: 'LocalWorkspace', working_dir: '/w' },
  agent: {
    llm: { model: 'gpt-5', api_key: 'sk-live-123', aws_secret_access_key: 'aws-secret-456' },
    condenser: {
      kind: 'LLMSummarizingCondenser',
      llm: { model: 'gpt-5-mini', api_key: 'sk-condenser-789' },
    },
    agent_context: {
      secrets: { GITHUB_TOKEN: 'ghp_abc', DB: { kind: 'StaticSecret', value: 'db-pass' } },
    },
    mcp_config: { mcpServers: { gh: { command: 'gh-mcp', env: { GH_TOKEN: 'mcp-token' } } } },
  },
  secret_registry: { secret_sources: { API: { kind: 'StaticSecret', value: 'registry-secret' } } },
});
const plaintexts = [
  'sk-live-123',
  'aws-secret-456',
  'sk-condenser-789',
  'ghp_abc',
  'db-pass',
  'mcp-token',
  'registry-secret',
];

describe('secrets', () => {
  it('collects every secret value', () => {
    expect(collectSecretValues(state).sort()).toEqual([...plaintexts].sort());
  });

  it('redacts every secret without a key and loads them as absent', () => {
    const sealed = JSON.stringify(sealState(state));
    for (const secret of plaintexts) expect(sealed).not.toContain(secret);
    const warnings: string[] = [];
    const back = unsealState(conversationStateSchema.parse(JSON.parse(sealed)), undefined, (w) =>
      warnings.push(w),
    );
    expect(back.agent.llm.api_key).toBeUndefined();
    expect(back.agent.llm.model).toBe('gpt-5');
    expect(warnings).toEqual([]);
  });

  it('encrypts with a key and decrypts with the same key', () => {
    const cipher = new SecretCipher('correct horse battery staple');
    const sealed = JSON.stringify(sealState(state, cipher));
    for (const secret of plaintexts) expect(sealed).not.toContain(secret);
    const back = unsealState(
      conversationStateSchema.parse(JSON.parse(sealed)),
      cipher,
      () => undefined,
    );
    expect(collectSecretValues(back).sort()).toEqual([...plaintexts].sort());
  });

  it('loads secrets as absent with a warning under a wrong key, never as garbage', () => {
    const sealed = sealState(state, new SecretCipher('key-one'));
    const warnings: string[] = [];
    const back = unsealState(sealed, new SecretCipher('key-two'), (w) => warnings.push(w));
    expect(collectSecretValues(back)).toEqual([]);
    expect(back.agent.llm.api_key).toBeUndefined();
    expect(warnings[0]).toMatch(/7 persisted secret\(s\) could not be decrypted.*differs/);
  });

  it('redacts an agent for display', () => {
    const redacted = redactAgent(state.agent);
    expect(redacted.llm.api_key).toBe(REDACTED_SECRET);
    expect(JSON.stringify(redacted)).not.toMatch(/sk-live|ghp_abc|mcp-token/);
  });
});
