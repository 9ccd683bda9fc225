import {
  FerryError,
  llmSchema,
  llmSecretFields,
  type LLM,
  type SecretCipher,
} from '@ferry/sdk-core';
import type { SettingsBacking } from './settings-backing';
import { isJsonObject, mapCredentials, mergeSettingsDiff, type JsonObject } from './settings-merge';

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

/** The server-wide settings as `GET /api/settings` answers them: credentials are `null`. */
export interface SettingsView {
  agent_settings: JsonObject;
  conversation_settings: JsonObject;
  /** Whether `agent_settings.llm.api_key` holds a key. */
  llm_api_key_is_set: boolean;
  active_profile: string | null;
  active_agent_profile_id: string | null;
  /** Kept for clients, never read by the server. */
  misc_settings: JsonObject;
}

/** A change of the settings (`PATCH /api/settings`); what is left out stays as it is. */
export interface SettingsUpdate {
  agent_settings_diff?: JsonObject | undefined;
  conversation_settings_diff?: JsonObject | undefined;
  misc_settings_diff?: JsonObject | undefined;
  /** A saved profile whose LLM becomes `agent_settings.llm` (unless the diff sets one); `null` clears it. */
  active_profile?: string | null | undefined;
  active_agent_profile_id?: string | null | undefined;
}

interface SettingsDocument {
  /** Secret values, each encrypted with the server's secret key. */
  secrets: Record<string, { value: string; description: string | null }>;
  /** LLM profiles, their secret fields encrypted with the server's secret key. */
  profiles: Record<string, Record<string, unknown>>;
  active_profile: string | null;
  /** OpenHands' agent settings, their credentials encrypted with the server's secret key. */
  agent_settings: JsonObject;
  conversation_settings: JsonObject;
  misc_settings: JsonObject;
  active_agent_profile_id: string | null;
}

/** Most profiles kept, as OpenHands limits them. */
export const MAX_PROFILES = 50;

const empty = (): SettingsDocument => ({
  secrets: {},
  profiles: {},
  active_profile: null,
  agent_settings: {},
  conversation_settings: {},
  misc_settings: {},
  active_agent_profile_id: null,
});

/** The error for a profile name nobody saved. */
export const profileNotFound = (name: string) =>
  new FerryError(
    'PROFILE_NOT_FOUND',
    `No LLM profile "${name}". List them with GET /api/profiles.`,
  );

/**
 * The server's own settings: named secrets, LLM profiles and OpenHands' agent, conversation
 * and misc settings, in one document (`<dataDir>/settings.json`, or the cluster's database so
 * that every replica sees the same). Every secret value (a secret, a profile's API key and
 * other LLM credentials, the credentials of the agent settings) is encrypted with the server's
 * secret key before it is written; without a key none can be stored. Values leave the store
 * only decrypted for use, never for a response or a log.
 */
export class SettingsStore {
  readonly #backing: SettingsBacking;
  readonly #cipher: SecretCipher | undefined;

  constructor(options: { backing: SettingsBacking; cipher: SecretCipher | undefined }) {
    this.#backing = options.backing;
    this.#cipher = options.cipher;
  }

  /** The settings with their credentials left out (`null`). */
  async readSettings(): Promise<SettingsView> {
    return viewOf(await this.#read());
  }

  /**
   * Applies `update` whole or not at all, and answers the settings after it.
   * @throws FerryError `PROFILE_NOT_FOUND` for an unknown `active_profile`,
   *   `SETTINGS_INVALID` when the agent settings' `llm` would not be a valid LLM,
   *   `SECRET_KEY_REQUIRED` for a credential on a server without a secret key.
   */
  async updateSettings(update: SettingsUpdate): Promise<SettingsView> {
    const diff = update.agent_settings_diff;
    const sealed =
      diff === undefined
        ? undefined
        : (mapCredentials(diff, (credential) =>
            this.#requireCipher('store a credential of the agent settings').encrypt(credential),
          ) as JsonObject);
    const document = await this.#update((document) => {
      if (update.active_profile !== undefined) {
        const name = update.active_profile;
        if (name !== null) {
          const profile = document.profiles[name];
          if (profile === undefined) throw profileNotFound(name);
          if (sealed?.llm === undefined) {
            document.agent_settings = { ...document.agent_settings, llm: { ...profile } };
          }
        }
        document.active_profile = name;
      }
      if (sealed !== undefined) {
        const merged = mergeSettingsDiff(document.agent_settings, sealed);
        checkLLM(merged.llm);
        document.agent_settings = merged;
      }
      if (update.conversation_settings_diff !== undefined) {
        document.conversation_settings = mergeSettingsDiff(
          document.conversation_settings,
          update.conversation_settings_diff,
        );
      }
      if (update.misc_settings_diff !== undefined) {
        document.misc_settings = mergeSettingsDiff(
          document.misc_settings,
          update.misc_settings_diff,
        );
      }
      if (update.active_agent_profile_id !== undefined) {
        document.active_agent_profile_id = update.active_agent_profile_id;
      }
    });
    return viewOf(document);
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

  /**
   * Marks a profile active and makes its LLM the agent settings' `llm`.
   * @throws FerryError `PROFILE_NOT_FOUND` when there is none of that name.
   */
  async activateProfile(name: string): Promise<void> {
    await this.updateSettings({ active_profile: name });
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
    return parseDocument(await this.#backing.read(), this.#backing.location);
  }

  /** Applies `change` to the document, writes it whole, and answers what was written. */
  async #update(change: (document: SettingsDocument) => void): Promise<SettingsDocument> {
    let written: SettingsDocument | undefined;
    await this.#backing.update((text) => {
      const document = parseDocument(text, this.#backing.location);
      change(document);
      written = document;
      return `${JSON.stringify(document, null, 2)}\n`;
    });
    return written ?? empty();
  }
}

function parseDocument(text: string | undefined, location: string): SettingsDocument {
  if (text === undefined) return empty();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new FerryError(
      'SETTINGS_CORRUPT',
      `The settings at ${location} are not JSON; nothing was changed. Restore them from a ` +
        'backup, or move the file away to start with empty settings.',
      { cause: error },
    );
  }
  return { ...empty(), ...(isJsonObject(parsed) ? (parsed as Partial<SettingsDocument>) : {}) };
}

function viewOf(document: SettingsDocument): SettingsView {
  const llm = document.agent_settings.llm;
  return {
    agent_settings: mapCredentials(document.agent_settings, () => null) as JsonObject,
    conversation_settings: document.conversation_settings,
    llm_api_key_is_set: isJsonObject(llm) && typeof llm.api_key === 'string' && llm.api_key !== '',
    active_profile: document.active_profile,
    active_agent_profile_id: document.active_agent_profile_id,
    misc_settings: document.misc_settings,
  };
}

/** The agent settings' `llm`, when there is one, must be a valid LLM (credentials are sealed). */
function checkLLM(llm: unknown): void {
  if (llm === undefined) return;
  const parsed = llmSchema.safeParse(llm);
  if (parsed.success) return;
  const problems = parsed.error.issues.map(
    (issue) => `${['llm', ...issue.path].join('.')}: ${issue.message}`,
  );
  throw new FerryError(
    'SETTINGS_INVALID',
    `The agent settings would not be valid, so nothing was changed: ${problems.join('; ')}.`,
  );
}
