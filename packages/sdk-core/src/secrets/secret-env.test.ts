import { describe, expect, it } from 'vitest';
import { conversationStateSchema } from '../conversation/state-schema';
import { REDACTED_SECRET } from './secret-cipher';
import { secretEnvFor } from './secret-env';

const state = conversationStateSchema.parse({
  id: 'c1',
  agent: { kind: 'Agent', llm: { model: 'm' } },
  workspace: { kind: 'LocalWorkspace', working_dir: '/w' },
  secret_registry: {
    secret_sources: {
      GITHUB_TOKEN: { kind: 'StaticSecret', value: 'ghp-1' },
      API_KEY: { kind: 'StaticSecret', value: 'key-2' },
      REDACTED: { kind: 'StaticSecret', value: REDACTED_SECRET },
      'not a name': { kind: 'StaticSecret', value: 'v' },
    },
  },
});

describe('secretEnvFor', () => {
  it('gives the secrets a command names, matched without case, as OpenHands does', () => {
    expect(secretEnvFor(state, 'git push https://$GITHUB_TOKEN@host')).toEqual({
      GITHUB_TOKEN: 'ghp-1',
    });
    expect(secretEnvFor(state, 'echo $api_key and $github_token')).toEqual({
      API_KEY: 'key-2',
      GITHUB_TOKEN: 'ghp-1',
    });
    expect(secretEnvFor(state, 'ls')).toEqual({});
  });

  it('leaves out secrets without a value here and names a shell cannot take', () => {
    expect(secretEnvFor(state, 'echo $REDACTED not a name')).toEqual({});
  });
});
