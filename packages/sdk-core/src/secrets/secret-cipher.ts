import { createCipheriv, createDecipheriv, randomBytes, scryptSync } from 'node:crypto';

/** What a secret is written as when no cipher key is configured. */
export const REDACTED_SECRET = '**********';

const PREFIX = 'ferry:aes-256-gcm:v1:';
const SALT = 'ferry-secret-key-v1';
const derivedKeys = new Map<string, Buffer>();

/**
 * Encrypts and decrypts secret values with AES-256-GCM. The key is derived from the given
 * passphrase (`FERRY_SECRET_KEY` or `secretKey`) with scrypt, once per process.
 */
export class SecretCipher {
  readonly #key: Buffer;

  constructor(secretKey: string) {
    if (secretKey.length === 0) throw new Error('SecretCipher: the secret key is empty');
    let key = derivedKeys.get(secretKey);
    if (key === undefined) {
      key = scryptSync(secretKey, SALT, 32);
      derivedKeys.set(secretKey, key);
    }
    this.#key = key;
  }

  /** True when `value` is a string this class produced (encrypted, under some key). */
  static isEncrypted(value: unknown): boolean {
    return typeof value === 'string' && value.startsWith(PREFIX);
  }

  encrypt(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv);
    const body = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return PREFIX + Buffer.concat([iv, cipher.getAuthTag(), body]).toString('base64');
  }

  /** The plaintext, or `undefined` when the value was encrypted under another key. */
  decrypt(encrypted: string): string | undefined {
    const raw = Buffer.from(encrypted.slice(PREFIX.length), 'base64');
    if (raw.length < 28) return undefined;
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, raw.subarray(0, 12));
      decipher.setAuthTag(raw.subarray(12, 28));
      return Buffer.concat([decipher.update(raw.subarray(28)), decipher.final()]).toString('utf8');
    } catch {
      return undefined;
    }
  }
}

/** The cipher for an explicit key, else for `FERRY_SECRET_KEY`, else none. */
export function resolveSecretCipher(secretKey?: string): SecretCipher | undefined {
  const key = secretKey ?? process.env.FERRY_SECRET_KEY;
  return key === undefined || key === '' ? undefined : new SecretCipher(key);
}
