export { REDACTED_SECRET, SecretCipher, resolveSecretCipher } from './secret-cipher';
export {
  collectSecretValues,
  redactAgent,
  redactState,
  sealState,
  unsealState,
} from './secret-codec';
export { mapAgentSecrets, mapStateSecrets } from './secret-fields';
export type { SecretMapper } from './secret-fields';
export { secretEnvFor } from './secret-env';
