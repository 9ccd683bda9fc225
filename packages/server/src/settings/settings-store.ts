import { FerryError, llmSecretFields, type LLM, type SecretCipher } from '@ferry/sdk-core';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** A stored secret as listed: never its value. */
export interface SecretSummary {
  name: string;
  description: string | null;
}

/** A saved LLM profile as listed (OpenHands' `ProfileInfo`). */
export interface ProfileSummary {
  name: string;
  model: string | null;
  base_url: string | null;
  api_key_set: boolean;
}

interface SettingsDocument {
  /** Secret values, each encrypted with the server's secret key. */
  secrets: Record<string, { value: string; description: string | null }>;
  /** LLM profiles, their secret fields encrypted with the server's secret key. */
  profiles: Record<string, Record<string, unknown>>;
  active_profile: string | null;
}

/** Most profiles kept, as OpenHands limits them. */
export const MAX_PROFILES = 50;

const empty = (): SettingsDocument => ({ secrets: {}, profiles: {}, active_profile: null });

/**
 * The server's own settings: named secrets and LLM profiles, in `<dataDir>/settings.json`.
 * Every secret value (a secret, a profile's API key and other LLM credentials) is encrypted
 * with the server's secret key before it is written; without a key none can be stored. Values
 * leave the store only decrypted for use, never for a response or a log.
 */
export class SettingsStore {
  readonly #file: string;
  readonly #cipher: SecretCipher | undefined;
  #queue: Promise<unknown> = Promise.resolve();

  constructor(options: { dataDir: string; cipher: SecretCipher | undefined }) {
    this.#file = join(options.dataDir, 'settings.json');
    this.#cipher = options.cipher;
  }

  async listSecrets(): Promise<SecretSummary[]> {
    const { secrets } = await this.#read();
    return Object.entries(secrets)
      .map(([name, secret]) => ({ name, description: secret.description }))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Adds or replaces a secret. */
  async setSecret(name: string, value: string, description: string | null): Promise<void> {
    const cipher = this.#requireCipher('store a secret');
    await this.#update((document) => {
      document.secrets[name] = { value: cipher.encrypt(value), description };
    });
  }

  /** Removes a secret; `false` when there was none of that name. */
  async deleteSecret(name: string): Promise<boolean> {
    let found = false;
    await this.#update((document) => {
      found = name in document.secrets;
      delete document.secrets[name];
    });
    return found;
  }

  async listProfiles(): Promise<{ profiles: ProfileSummary[]; active_profile: string | null }> {
    const document = await this.#read();
    const profiles = Object.entries(document.profiles)
      .map(([name, llm]) => ({
        name,
        model: typeof llm.model === 'string' ? llm.model : null,
        base_url: typeof llm.base_url === 'string' ? llm.base_url : null,
        api_key_set: typeof llm.api_key === 'string' && llm.api_key !== '',
      }))
      .sort((a, b) => a.name.localeCompare(b.name));
    return { profiles, active_profile: document.active_profile };
  }

  /** A profile's LLM without its secrets (`api_key: null`), or `undefined` when unknown. */
  async describeProfile(
    name: string,
  ): Promise<{ config: Record<string, unknown>; api_key_set: boolean } | undefined> {
    const llm = (await this.#read()).profiles[name];
    if (llm === undefined) return undefined;
    const config: Record<string, unknown> = { ...llm };
    for (const field of llmSecretFields) if (config[field] != null) config[field] = null;
    return { config, api_key_set: typeof llm.api_key === 'string' && llm.api_key !== '' };
  }

  /** A profile's LLM with its secrets decrypted, for a conversation; `undefined` when unknown. */
  async loadProfile(name: string): Promise<LLM | undefined> {
    const llm = (await this.#read()).profiles[name];
    if (llm === undefined) return undefined;
    const plain: Record<string, unknown> = { ...llm };
    for (const field of llmSecretFields) {
      const value = plain[field];
      if (typeof value !== 'string') continue;
      const decrypted = this.#cipher?.decrypt(value);
      if (decrypted === undefined) delete plain[field];
      else plain[field] = decrypted;
    }
    return plain as LLM;
  }

  /**
   * Saves (or replaces) a profile. With `includeSecrets` its credentials are stored encrypted
   * (a server secret key is required when it has any); without, they are left out.
   */
  async saveProfile(name: string, llm: LLM, includeSecrets: boolean): Promise<void> {
    const stored: Record<string, unknown> = { ...llm };
    for (const field of llmSecretFields) {
      const value = stored[field];
      if (typeof value !== 'string' || value === '' || !includeSecrets) {
        delete stored[field];
        continue;
      }
      stored[field] = this.#requireCipher('store an LLM profile with its API key').encrypt(value);
    }
    await this.#update((document) => {
      if (!(name in document.profiles) && Object.keys(document.profiles).length >= MAX_PROFILES) {
        throw new FerryError(
          'PROFILE_LIMIT_REACHED',
          `At most ${MAX_PROFILES} profiles are kept: delete one before saving a new one.`,
        );
      }
      document.profiles[name] = stored;
    });
  }

  /** Removes a profile (nothing happens when there is none). */
  async deleteProfile(name: string): Promise<void> {
    await this.#update((document) => {
      delete document.profiles[name];
      if (document.active_profile === name) document.active_profile = null;
    });
  }

  /** Renames a profile; `false` when there is none of that name. */
  async renameProfile(name: string, newName: string): Promise<boolean> {
    let found = false;
    await this.#update((document) => {
      const profile = document.profiles[name];
      if (profile === undefined) return;
      if (newName !== name && newName in document.profiles) {
        throw new FerryError('PROFILE_EXISTS', `A profile named "${newName}" exists already.`);
      }
      found = true;
      delete document.profiles[name];
      document.profiles[newName] = profile;
      if (document.active_profile === name) document.active_profile = newName;
    });
    return found;
  }

  /** Marks a profile active; `false` when there is none of that name. */
  async activateProfile(name: string): Promise<boolean> {
    let found = false;
    await this.#update((document) => {
      found = name in document.profiles;
      if (found) document.active_profile = name;
    });
    return found;
  }

  #requireCipher(what: string): SecretCipher {
    if (this.#cipher === undefined) {
      throw new FerryError(
        'SECRET_KEY_REQUIRED',
        `This server has no secret key, so it cannot ${what}: secrets are only kept encrypted. ` +
          'Start it with --secret-key or FERRY_SECRET_KEY.',
      );
    }
    return this.#cipher;
  }

  async #read(): Promise<SettingsDocument> {
    const text = await readFile(this.#file, 'utf8').catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    });
    if (text === undefined) return empty();
    return { ...empty(), ...(JSON.parse(text) as Partial<SettingsDocument>) };
  }

  /** Applies `change` to the document and writes it whole (temporary file, then rename). */
  #update(change: (document: SettingsDocument) => void): Promise<void> {
    const next = this.#queue.then(async () => {
      const document = await this.#read();
      change(document);
      await mkdir(join(this.#file, '..'), { recursive: true });
      const temporary = `${this.#file}.${process.pid}.tmp`;
      await writeFile(temporary, `${JSON.stringify(document, null, 2)}\n`, { mode: 0o600 });
      await rename(temporary, this.#file);
    });
    this.#queue = next.catch(() => undefined);
    return next;
  }
}
