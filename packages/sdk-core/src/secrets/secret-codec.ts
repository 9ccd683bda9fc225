import type { Agent } from '../agent/agent-schema';
import type { ConversationState } from '../conversation/state-schema';
import { REDACTED_SECRET, SecretCipher } from './secret-cipher';
import { mapAgentSecrets, mapStateSecrets } from './secret-fields';

/** Replaces every secret of the agent with `**********` (for events, logs, UIs, the wire). */
export function redactAgent<T extends Agent>(agent: T): T {
  return mapAgentSecrets(agent, () => REDACTED_SECRET);
}

/** Replaces every secret of the state with `**********`. */
export function redactState(state: ConversationState): ConversationState {
  return mapStateSecrets(state, () => REDACTED_SECRET);
}

/** The state as it is written to disk: secrets encrypted with the cipher, or redacted. */
export function sealState(state: ConversationState, cipher?: SecretCipher): ConversationState {
  return mapStateSecrets(state, (value) =>
    value === REDACTED_SECRET || SecretCipher.isEncrypted(value)
      ? value
      : cipher === undefined
        ? REDACTED_SECRET
        : cipher.encrypt(value),
  );
}

/**
 * The state as read from disk, secrets restored where possible: redacted ones become absent,
 * encrypted ones are decrypted when the cipher's key matches and otherwise become absent with
 * a warning (never garbage).
 */
export function unsealState(
  state: ConversationState,
  cipher: SecretCipher | undefined,
  onWarning: (message: string) => void,
): ConversationState {
  const unreadable: string[] = [];
  const result = mapStateSecrets(state, (value, path) => {
    if (value === REDACTED_SECRET) return undefined;
    if (!SecretCipher.isEncrypted(value)) return value;
    const plaintext = cipher?.decrypt(value);
    if (plaintext === undefined) unreadable.push(path);
    return plaintext;
  });
  if (unreadable.length > 0) {
    onWarning(
      `${unreadable.length} persisted secret(s) could not be decrypted (${unreadable.join(', ')}): ` +
        (cipher === undefined
          ? 'no cipher key is set; pass secretKey or set FERRY_SECRET_KEY.'
          : 'the cipher key differs from the one they were written with.') +
        ' They load as absent; provide them again through the agent.',
    );
  }
  return result;
}

/** Every plaintext secret value in the state, for masking tool output. */
export function collectSecretValues(state: ConversationState): string[] {
  const values = new Set<string>();
  mapStateSecrets(state, (value) => {
    if (value !== REDACTED_SECRET && !SecretCipher.isEncrypted(value) && value.length > 0) {
      values.add(value);
    }
    return value;
  });
  return [...values];
}
