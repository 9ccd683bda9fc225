import type { ConversationState } from '../conversation/state-schema';
import { REDACTED_SECRET, SecretCipher } from './secret-cipher';

/** A name a shell accepts as a variable. */
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * The conversation's secrets that `command` mentions by name (case-insensitive, as OpenHands'
 * `SecretRegistry.get_secrets_as_env_vars`), as environment variables: what the terminal
 * exports into the agent's shell before running the command. Only secrets with a value here
 * (a `StaticSecret` read with its key) and a valid variable name take part.
 */
export function secretEnvFor(state: ConversationState, command: string): Record<string, string> {
  const mentioned = command.toLowerCase();
  const env: Record<string, string> = {};
  for (const [name, source] of Object.entries(state.secret_registry.secret_sources)) {
    const value = source.value;
    if (typeof value !== 'string' || value === '' || value === REDACTED_SECRET) continue;
    if (SecretCipher.isEncrypted(value) || !VARIABLE_NAME.test(name)) continue;
    if (mentioned.includes(name.toLowerCase())) env[name] = value;
  }
  return env;
}
