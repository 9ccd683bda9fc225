import { newEventEnvelope } from '../event/event-base';
import type { ConversationStateUpdateEvent } from '../event/event-schemas';
import { FerryError } from '../errors/ferry-error';
import type { SecretCipher } from '../secrets/secret-cipher';
import { sealState } from '../secrets/secret-codec';
import type { ConversationLease, ConversationStore } from '../store/conversation-store';
import type { ConversationState } from './state-schema';

/**
 * Writes the state document through the store, secrets sealed (encrypted with a cipher,
 * redacted without). A storage failure becomes a typed error; the previous state is intact
 * (stores replace it atomically). Typed store errors (`LeaseLostError`, ...) pass unchanged.
 */
export async function writeState(
  store: ConversationStore,
  lease: ConversationLease,
  state: ConversationState,
  cipher: SecretCipher | undefined,
): Promise<void> {
  try {
    await store.writeState(lease, sealState(state, cipher));
  } catch (error) {
    if (FerryError.isInstance(error)) throw error;
    throw new FerryError(
      'STATE_WRITE_FAILED',
      `Could not write the state of conversation ${lease.conversationId} to ${store.describe(lease.conversationId)} ` +
        `(${error instanceof Error ? error.message : String(error)}). ` +
        'The previous state is intact; free space or fix permissions, then retry.',
      { cause: error },
    );
  }
}

/** A `ConversationStateUpdateEvent` recording a state field's new value. */
export function stateUpdateEvent(key: string, value: unknown): ConversationStateUpdateEvent {
  return {
    ...newEventEnvelope(),
    source: 'environment',
    kind: 'ConversationStateUpdateEvent',
    key,
    value,
  };
}
