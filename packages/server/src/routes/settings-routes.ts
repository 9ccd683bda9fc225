import type {} from '@fastify/swagger';
import { FerryError, llmSchema } from '@ferry/sdk-core';
import type { FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import { z } from 'zod';
import type { ConversationManager } from '../conversations/conversation-manager';
import {
  commonErrorResponses,
  conversationParamsSchema,
  errorResponseSchema,
  successSchema,
} from '../schemas/common-schemas';
import { profileNotFound, type SettingsStore } from '../settings/settings-store';

/** Options of {@link settingsRoutes}. */
export interface SettingsRoutesOptions {
  store: SettingsStore;
  manager: ConversationManager;
}

const secretNameSchema = z
  .string()
  .regex(/^[a-zA-Z][a-zA-Z0-9_]{0,63}$/)
  .describe('A letter, then letters, digits and underscores; at most 64 characters');
const profileNameSchema = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/)
  .describe('A letter or digit, then letters, digits, `.`, `_` and `-`; at most 64 characters');
/** Path parameters of `/api/profiles/{name}/...`. */
export const profileParamsSchema = z.object({ name: profileNameSchema });
const secretItemSchema = z.object({ name: z.string(), description: z.string().nullable() });
const mutationSchema = z.object({ name: z.string(), message: z.string() });

const jsonObjectSchema = z.record(z.string(), z.unknown());
const settingsViewSchema = z.object({
  agent_settings: jsonObjectSchema,
  conversation_settings: jsonObjectSchema,
  llm_api_key_is_set: z.boolean(),
  active_profile: z.string().nullable(),
  active_agent_profile_id: z.string().nullable(),
  misc_settings: jsonObjectSchema,
});
const settingsUpdateSchema = z.object({
  agent_settings_diff: jsonObjectSchema.nullish(),
  conversation_settings_diff: jsonObjectSchema.nullish(),
  misc_settings_diff: jsonObjectSchema.nullish(),
  active_profile: profileNameSchema.nullish(),
  active_agent_profile_id: z.uuid().nullish(),
});

/**
 * OpenHands' stored secrets (`/api/settings/secrets`) and LLM profiles (`/api/profiles`,
 * `switch_profile`). Values are encrypted at rest with the server's secret key and never sent
 * back: listing gives names, a profile's `config.api_key` is always `null`.
 */
export function settingsRoutes(
  app: FastifyInstance,
  { store, manager }: SettingsRoutesOptions,
): void {
  const routes = app.withTypeProvider<ZodTypeProvider>();

  routes.get(
    '/api/settings',
    {
      schema: {
        tags: ['Settings'],
        summary: 'The server-wide agent, conversation and misc settings',
        description:
          'Stored for clients (OpenHands GUIs keep their defaults here); conversations take ' +
          'their agent from their own request. Credentials are always `null` ' +
          "(`llm_api_key_is_set` says whether a key is stored); OpenHands' `X-Expose-Secrets` " +
          'header is ignored.',
        response: { 200: settingsViewSchema, 409: errorResponseSchema },
      },
    },
    () => store.readSettings(),
  );

  routes.patch(
    '/api/settings',
    {
      schema: {
        tags: ['Settings'],
        summary: 'Change the settings by diffs',
        description:
          'The `*_settings_diff` objects merge deeply into the stored ones: nested objects merge, ' +
          'lists replace, and `null` inside a nested object removes that entry. ' +
          "`active_profile` makes that saved profile's LLM `agent_settings.llm` unless the diff " +
          'gives one. Credentials (`api_key`, `aws_*` at any depth, every value of `headers` ' +
          'and `env`) are stored encrypted (409 `SECRET_KEY_REQUIRED` without a server secret ' +
          'key). 400 when nothing is given; 422 `SETTINGS_INVALID` when `llm` would be invalid.',
        body: settingsUpdateSchema,
        response: {
          200: settingsViewSchema,
          400: errorResponseSchema,
          404: errorResponseSchema,
          409: errorResponseSchema,
          422: errorResponseSchema,
        },
      },
    },
    async (request) => {
      const body = request.body;
      const update = {
        agent_settings_diff: body.agent_settings_diff ?? undefined,
        conversation_settings_diff: body.conversation_settings_diff ?? undefined,
        misc_settings_diff: body.misc_settings_diff ?? undefined,
        // An explicit null clears these two; leaving them out keeps them.
        active_profile: body.active_profile,
        active_agent_profile_id: body.active_agent_profile_id,
      };
      if (Object.values(update).every((value) => value === undefined)) {
        throw new FerryError(
          'SETTINGS_UPDATE_EMPTY',
          'Give at least one of agent_settings_diff, conversation_settings_diff, ' +
            'misc_settings_diff, active_profile or active_agent_profile_id.',
        );
      }
      return store.updateSettings(update);
    },
  );

  routes.get(
    '/api/settings/secrets',
    {
      schema: {
        tags: ['Settings'],
        summary: 'The stored secrets: names and descriptions, never values',
        response: { 200: z.object({ secrets: z.array(secretItemSchema) }) },
      },
    },
    async () => ({ secrets: await store.listSecrets() }),
  );

  routes.put(
    '/api/settings/secrets',
    {
      schema: {
        tags: ['Settings'],
        summary: 'Add or replace a secret (encrypted at rest)',
        description:
          '409 `SECRET_KEY_REQUIRED` when the server has no secret key to encrypt it with.',
        body: z.object({
          name: secretNameSchema,
          value: z.string(),
          description: z.string().nullish(),
        }),
        response: { 200: secretItemSchema, 409: errorResponseSchema },
      },
    },
    async (request) => {
      const { name, value, description } = request.body;
      await store.setSecret(name, value, description ?? null);
      return { name, description: description ?? null };
    },
  );

  routes.delete(
    '/api/settings/secrets/:name',
    {
      schema: {
        tags: ['Settings'],
        summary: 'Delete a secret',
        params: z.object({ name: secretNameSchema }),
        response: { 200: z.object({ deleted: z.literal(true) }), 404: errorResponseSchema },
      },
    },
    async (request) => {
      if (!(await store.deleteSecret(request.params.name))) {
        throw new FerryError('SECRET_NOT_FOUND', 'Secret not found.');
      }
      return { deleted: true as const };
    },
  );

  routes.get(
    '/api/profiles',
    {
      schema: {
        tags: ['Profiles'],
        summary: 'The saved LLM profiles and the active one',
        response: {
          200: z.object({
            profiles: z.array(
              z.object({
                name: z.string(),
                model: z.string().nullable(),
                base_url: z.string().nullable(),
                api_key_set: z.boolean(),
              }),
            ),
            active_profile: z.string().nullable(),
          }),
        },
      },
    },
    () => store.listProfiles(),
  );

  routes.get(
    '/api/profiles/:name',
    {
      schema: {
        tags: ['Profiles'],
        summary: "A profile's LLM, its credentials left out",
        description:
          '`config.api_key` (and every other credential) is always `null`; `api_key_set` says ' +
          "whether one is stored. OpenHands' `X-Expose-Secrets` header is ignored.",
        params: profileParamsSchema,
        response: {
          200: z.object({
            name: z.string(),
            config: z.record(z.string(), z.unknown()),
            api_key_set: z.boolean(),
          }),
          404: errorResponseSchema,
        },
      },
    },
    async (request) => {
      const { name } = request.params;
      const profile = await store.describeProfile(name);
      if (profile === undefined) throw profileNotFound(name);
      return { name, ...profile };
    },
  );

  routes.post(
    '/api/profiles/:name',
    {
      schema: {
        tags: ['Profiles'],
        summary: 'Save an LLM profile',
        description:
          'Replaces one of the same name. Its API key is stored encrypted (409 ' +
          '`SECRET_KEY_REQUIRED` without a server secret key) unless `include_secrets` is false.',
        params: profileParamsSchema,
        body: z.object({ llm: llmSchema, include_secrets: z.boolean().default(true) }),
        response: { 201: mutationSchema, 409: errorResponseSchema },
      },
    },
    async (request, reply) => {
      const { name } = request.params;
      await store.saveProfile(name, request.body.llm, request.body.include_secrets);
      return reply.code(201).send({ name, message: `Profile '${name}' saved` });
    },
  );

  routes.delete(
    '/api/profiles/:name',
    {
      schema: {
        tags: ['Profiles'],
        summary: 'Delete an LLM profile (nothing happens for an unknown one)',
        params: profileParamsSchema,
        response: { 200: mutationSchema },
      },
    },
    async (request) => {
      const { name } = request.params;
      await store.deleteProfile(name);
      return { name, message: `Profile '${name}' deleted` };
    },
  );

  routes.post(
    '/api/profiles/:name/rename',
    {
      schema: {
        tags: ['Profiles'],
        summary: 'Rename an LLM profile',
        params: profileParamsSchema,
        body: z.object({ new_name: profileNameSchema }),
        response: { 200: mutationSchema, 404: errorResponseSchema, 409: errorResponseSchema },
      },
    },
    async (request) => {
      const { name } = request.params;
      const newName = request.body.new_name;
      if (!(await store.renameProfile(name, newName))) throw profileNotFound(name);
      return { name: newName, message: `Profile '${name}' renamed to '${newName}'` };
    },
  );

  routes.post(
    '/api/profiles/:name/activate',
    {
      schema: {
        tags: ['Profiles'],
        summary: "Mark an LLM profile active: its LLM becomes the agent settings' `llm`",
        description:
          "Recorded as `active_profile`, and the profile's LLM (credentials included, still " +
          'encrypted) becomes `agent_settings.llm` of `GET /api/settings`. Conversations keep ' +
          'their own LLM: use `switch_profile` on a conversation.',
        params: profileParamsSchema,
        response: {
          200: z.object({ name: z.string(), message: z.string(), llm_applied: z.boolean() }),
          404: errorResponseSchema,
        },
      },
    },
    async (request) => {
      const { name } = request.params;
      await store.activateProfile(name);
      return {
        name,
        message: `Profile '${name}' activated and applied to current settings`,
        llm_applied: true,
      };
    },
  );

  routes.post(
    '/api/conversations/:conversation_id/switch_profile',
    {
      schema: {
        tags: ['Conversations'],
        summary: "Replace the agent's LLM with a saved profile's",
        description: 'Like `switch_llm` with the profile; 404 for an unknown profile.',
        params: conversationParamsSchema,
        body: z.object({ profile_name: profileNameSchema }),
        response: { 200: successSchema, ...commonErrorResponses },
      },
    },
    async (request) => {
      const name = request.body.profile_name;
      const llm = await store.loadProfile(name);
      if (llm === undefined) throw profileNotFound(name);
      await manager.use(request.params.conversation_id, async (entry) => {
        await entry.settle();
        await entry.conversation.setAgent({ ...entry.conversation.agent, llm });
      });
      return { success: true };
    },
  );
}
