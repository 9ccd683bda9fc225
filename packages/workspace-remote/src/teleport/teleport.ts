import {
  BundleBaseMismatchError,
  ConversationClosedError,
  ConversationRunningError,
  ConversationTeleportedError,
  FerryError,
  LocalFileStore,
  bundleBaseSchema,
  conversationStateSchema,
  exportConversationBundle,
  verifyAgent,
  type BundleBase,
  type BundleManifest,
  type BundleProgress,
  type LocalConversation,
  type StoredEvent,
} from '@ferry/sdk-core';
import { resolve } from 'node:path';
import { z } from 'zod';
import { RemoteConversation } from '../conversation/remote-conversation';
import { RemoteServerError } from '../errors/remote-server-error';
import { HttpClient } from '../http/http-client';
import { multipartStream } from '../http/multipart-stream';
import type { RemoteWorkspace } from '../workspace/remote-workspace';
import { writeDeparture } from './departure-record';
import { localPlace, type LocalDestination, type TeleportOptions } from './teleport-options';
import { toLocal } from './teleport-to-local';

export type { LocalDestination, TeleportOptions, TeleportProgress } from './teleport-options';

const importResponseSchema = z.looseObject({
  conversation: z.looseObject({ id: z.string() }),
});

/**
 * Moves a conversation, with its id and its whole history, between this machine and a Ferry
 * server. Either way the source handle is closed afterwards and the copy left behind is parked
 * (`state.teleport` says where it went; running it throws `ConversationTeleportedError`), so
 * two copies never both write. A `TeleportEvent` at the destination marks the hop.
 *
 * - local -> remote (`to` is a `RemoteWorkspace`): exports a bundle of the conversation (and,
 *   with `includeWorkspace`, of its working directory), has the server import it *pending*
 *   (parked there, still living here) with `agent`, parks the local copy, confirms the arrival
 *   on the server, and returns a `RemoteConversation` attached to it.
 * - remote -> local (`to` is `{ persistenceDir, workspace }`): exports the bundle from the
 *   server, parks the server's copy (refused with `TELEPORT_SOURCE_CHANGED` if events were
 *   appended there since the export) while it imports the bundle, parked, into `persistenceDir`
 *   (replacing the copy it left parked there; with `includeWorkspace`, only once the server's
 *   copy is parked), opens it with `agent`, records the arrival and returns the
 *   `LocalConversation`.
 *
 * At most one copy is ever runnable, even if either process dies. A teleport to a server that
 * fails before the server confirmed the import (a refusal, the server dying mid-import, a lost
 * answer) leaves this copy runnable; a pending copy left on the server never runs and the next
 * teleport replaces it. Only a cut between the local parking and the server's confirmation, or
 * coming back between the server's parking and the open here, leaves no runnable copy:
 * `TELEPORT_INCOMPLETE`, and calling `teleport` again the same way (on the parked copy, to the
 * same server or folder) finishes the move.
 *
 * @throws ConversationRunningError (pause it first), ConversationTeleportedError,
 *   ToolsRemovedError / AgentKindMismatchError (an incompatible `agent`), BundleConflictError,
 *   BundleTooLargeError, RemoteServerError, FerryError `TELEPORT_SOURCE_CHANGED` /
 *   `TELEPORT_INCOMPLETE`.
 */
export function teleport(
  conversation: LocalConversation,
  options: TeleportOptions<RemoteWorkspace>,
): Promise<RemoteConversation>;
export function teleport(
  conversation: RemoteConversation,
  options: TeleportOptions<LocalDestination>,
): Promise<LocalConversation>;
export function teleport(
  conversation: LocalConversation | RemoteConversation,
  options: TeleportOptions<RemoteWorkspace> | TeleportOptions<LocalDestination>,
): Promise<RemoteConversation | LocalConversation> {
  if (conversation instanceof RemoteConversation) {
    if (isRemoteWorkspace(options.to)) {
      return Promise.reject(
        new FerryError(
          'TELEPORT_UNSUPPORTED',
          'teleport: a RemoteConversation can only come back here: pass `to: { persistenceDir, workspace }`.',
        ),
      );
    }
    return toLocal(conversation, options as TeleportOptions<LocalDestination>);
  }
  if (!isRemoteWorkspace(options.to)) {
    return Promise.reject(
      new FerryError(
        'TELEPORT_UNSUPPORTED',
        'teleport: a LocalConversation goes to a server: pass `to: new RemoteWorkspace({ host, apiKey, workingDir })`.',
      ),
    );
  }
  return toRemote(conversation, options as TeleportOptions<RemoteWorkspace>);
}

function isRemoteWorkspace(value: unknown): value is RemoteWorkspace {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { kind?: unknown }).kind === 'RemoteWorkspace' &&
    typeof (value as { host?: unknown }).host === 'string'
  );
}

async function toRemote(
  conversation: LocalConversation,
  options: TeleportOptions<RemoteWorkspace>,
): Promise<RemoteConversation> {
  const remote = options.to;
  if (conversation.closed) throw new ConversationClosedError(conversation.id);
  if (conversation.isRunning) throw new ConversationRunningError(conversation.id, 'teleport');
  const folder = conversation.persistenceDir;
  if (folder.startsWith('memory:')) {
    throw new FerryError(
      'TELEPORT_UNSUPPORTED',
      `Conversation ${conversation.id} lives in memory (${folder}); only a conversation persisted in a folder can be teleported.`,
    );
  }
  if (options.includeWorkspace === true && conversation.workspace.kind !== 'LocalWorkspace') {
    throw new FerryError(
      'TELEPORT_UNSUPPORTED',
      `includeWorkspace needs the conversation's files on this machine, but its workspace is a ${conversation.workspace.kind}.`,
    );
  }
  const client = new HttpClient({
    host: remote.host,
    apiKey: remote.apiKey,
    timeout: 60,
    caller: 'teleport',
  });
  const attach = (events: readonly StoredEvent[]) =>
    attachThere(remote, conversation.id, events, options);

  const parked = conversation.state.teleport;
  // An earlier teleport to this server was cut off after this copy was parked, so the server
  // holds the conversation pending (or already live): confirming its arrival finishes the move.
  if (parked !== undefined && parked !== null) {
    if (parked.to !== remote.host) {
      throw new ConversationTeleportedError(conversation.id, parked.to, parked.at);
    }
    const there = await serverCopy(client, conversation.id);
    if (there.live || (there.parked && there.bundleId === parked.bundle_id)) {
      if (!there.live) await confirmArrival(client, conversation.id, parked.bundle_id ?? '');
      const events = conversation.events.raw();
      await conversation.close();
      return attach(events);
    }
    throw new FerryError(
      'TELEPORT_INCOMPLETE',
      `Conversation ${conversation.id} is parked here for ${remote.host}, but the server holds ` +
        `no copy of that teleport to confirm. Open it with LocalConversation.open() after ` +
        `checking the server, then clear the mark with updateState({ teleport: null }).`,
    );
  }
  if (options.agent !== undefined) verifyAgent(options.agent, conversation.agent);

  const store = new LocalFileStore({ root: folder });
  const from = localPlace(resolve(folder, '..'));
  const workspaceDir =
    options.includeWorkspace === true ? conversation.workspace.workingDir : undefined;
  const upload = (base: BundleBase | undefined) =>
    uploadBundle({ conversation, client, store, workspaceDir, from, base, options });
  // What the server already holds of it (a copy parked there when it last came back): only
  // what that copy lacks travels. A copy that diverged gets the whole conversation.
  const base = await serverBase(client, conversation.id, workspaceDir !== undefined, remote);
  // The remote conversation starts with the events this copy holds. A resume reads older ones
  // only when first needed: those not in memory are read now, while the bundle travels.
  const reading = conversation.historyInMemory
    ? undefined
    : conversation.store.readEvents(conversation.id).catch(() => undefined);
  let manifest: BundleManifest;
  try {
    manifest = await upload(base);
  } catch (error) {
    // The server's copy changed between its description and the delta: send it all.
    if (base === undefined || !BundleBaseMismatchError.isInstance(error)) throw error;
    manifest = await upload(undefined);
  }
  const read = await reading;
  const events = read?.length === manifest.event_count ? read : conversation.events.raw();

  // 2. Parked here, then 3. confirmed there. Only a cut between the two leaves no runnable copy,
  //    and teleporting this copy to the same server again confirms the arrival.
  await conversation.markTeleported({ to: remote.host, bundleId: manifest.bundle_id });
  try {
    await confirmArrival(client, conversation.id, manifest.bundle_id);
  } catch (error) {
    if (refusedByServer(error)) {
      // The server refused the arrival (its copy was replaced meanwhile): it runs here.
      await conversation.updateState({ teleport: null });
      throw error;
    }
    throw new FerryError(
      'TELEPORT_INCOMPLETE',
      `Teleporting conversation ${conversation.id} to ${remote.host} was cut off before the ` +
        `server confirmed its arrival: it stays parked here, so it never runs in two places. ` +
        `Teleport it to ${remote.host} again to finish the move.`,
      { cause: error },
    );
  }
  return finishDeparture(conversation, store, manifest, remote.host, events, options);
}

/** Makes the copy imported pending on the server runnable there. */
async function confirmArrival(client: HttpClient, id: string, bundleId: string): Promise<void> {
  await client.json({
    method: 'POST',
    path: `/api/conversations/${id}/arrive`,
    json: { bundle_id: bundleId },
    context: { conversationId: id, operation: 'confirm the arrival' },
  });
}

/** The local copy stays parked: closes it and attaches to the server's. */
async function finishDeparture(
  conversation: LocalConversation,
  store: LocalFileStore,
  manifest: BundleManifest,
  host: string,
  events: readonly StoredEvent[],
  options: TeleportOptions<RemoteWorkspace>,
): Promise<RemoteConversation> {
  if (options.includeWorkspace === true) {
    // Without this record, coming back treats every differing local file as a conflict.
    await writeDeparture(store, manifest, host).catch(() => undefined);
  }
  await conversation.close();
  return attachThere(options.to, conversation.id, events, options);
}

async function attachThere(
  remote: RemoteWorkspace,
  conversationId: string,
  events: readonly StoredEvent[],
  options: TeleportOptions<RemoteWorkspace>,
): Promise<RemoteConversation> {
  try {
    return await RemoteConversation.attachWithEvents({
      host: remote.host,
      ...(remote.apiKey === undefined ? {} : { apiKey: remote.apiKey }),
      conversationId,
      events,
      ...(options.onEvent === undefined ? {} : { onEvent: options.onEvent }),
    });
  } catch (error) {
    throw new FerryError(
      'TELEPORT_ATTACH_FAILED',
      `Conversation ${conversationId} now lives on ${remote.host}, but attaching to it failed: ` +
        `${error instanceof Error ? error.message : String(error)}. Attach with RemoteConversation.attach().`,
      { cause: error },
    );
  }
}

/** True when the server answered the request with an error (so it did not carry it out). */
function refusedByServer(error: unknown): boolean {
  if (!FerryError.isInstance(error)) return false;
  if (RemoteServerError.isInstance(error)) return error.status !== undefined;
  // Every other Ferry error of the client is the typed form of a server's answer.
  return true;
}

/** The conversation on the server: absent, runnable, or parked (for which bundle). */
async function serverCopy(
  client: HttpClient,
  id: string,
): Promise<{ live: boolean; parked: boolean; bundleId?: string | undefined }> {
  try {
    const state = conversationStateSchema.parse(
      await client.json({ path: `/api/conversations/${id}`, timeout: 10 }),
    );
    const teleport = state.teleport;
    if (teleport === undefined || teleport === null) return { live: true, parked: false };
    return { live: false, parked: true, bundleId: teleport.bundle_id ?? undefined };
  } catch (error) {
    if (RemoteServerError.isInstance(error) && error.status === 404) {
      return { live: false, parked: false };
    }
    throw error;
  }
}

/**
 * What the server holds of the conversation (`GET .../bundle_base`), or `undefined` when it
 * holds none, or is a Ferry without delta bundles (it then gets the whole conversation).
 */
async function serverBase(
  client: HttpClient,
  id: string,
  includeWorkspace: boolean,
  remote: RemoteWorkspace,
): Promise<BundleBase | undefined> {
  try {
    const answer = await client.json({
      path: `/api/conversations/${id}/bundle_base`,
      query: { include_workspace: includeWorkspace, working_dir: remote.workingDir },
      timeout: null,
      context: { conversationId: id, operation: 'describe its copy' },
    });
    const parsed = z.object({ base: bundleBaseSchema }).safeParse(answer);
    return parsed.success ? parsed.data.base : undefined;
  } catch (error) {
    if (RemoteServerError.isInstance(error) && error.status === 404) return undefined;
    if (FerryError.isInstance(error) && error.code === 'CONVERSATION_NOT_FOUND') return undefined;
    throw error;
  }
}

/**
 * Exports the conversation (a delta on `base`, when the server's copy is its prefix) and has the
 * server import it *pending*: parked there, still living here. Whatever happens to this upload
 * (a refusal, the server dying, a lost answer), this copy stays runnable and the server's, if
 * any, does not run. The agent (with its keys) goes in the body, never in a URL or a header.
 */
async function uploadBundle(input: {
  conversation: LocalConversation;
  client: HttpClient;
  store: LocalFileStore;
  workspaceDir: string | undefined;
  from: string;
  base: BundleBase | undefined;
  options: TeleportOptions<RemoteWorkspace>;
}): Promise<BundleManifest> {
  const { conversation, options } = input;
  // Known once the export has read the log, before the bundle starts streaming.
  const totals: { events?: number; baseEvents?: number } = {};
  // The conversation's files are read now: the bundle is this snapshot, whatever happens later.
  const { manifest, stream } = await exportConversationBundle({
    store: input.store,
    ...(input.workspaceDir === undefined ? {} : { workspaceDir: input.workspaceDir }),
    ...(input.base === undefined ? {} : { base: input.base }),
    ...(options.maxWorkspaceBytes === undefined
      ? {}
      : { maxWorkspaceBytes: options.maxWorkspaceBytes }),
    onProgress: (progress: BundleProgress) =>
      options.onProgress?.({
        stage: 'upload',
        bytes: progress.bytes,
        ...(progress.totalBytes === undefined ? {} : { totalBytes: progress.totalBytes }),
        // A delta counts its new events on top of those the server's copy holds.
        events: (totals.baseEvents ?? 0) + (progress.events ?? 0),
        ...(totals.events === undefined ? {} : { totalEvents: totals.events }),
      }),
  });
  totals.events = manifest.event_count;
  totals.baseEvents = manifest.base?.event_count ?? 0;
  const held = conversation.events.length;
  if (held !== manifest.event_count) {
    stream.destroy();
    throw new FerryError(
      'TELEPORT_SOURCE_CHANGED',
      `Conversation ${conversation.id} changed while it was being teleported (${manifest.event_count} ` +
        `events exported, it now has ${held}); it stays here. Teleport it again.`,
    );
  }
  const body = multipartStream([
    ...(options.agent === undefined
      ? []
      : [{ name: 'agent', value: JSON.stringify(options.agent) }]),
    { name: 'bundle', filename: 'conversation.tar.gz', contentType: 'application/gzip', stream },
  ]);
  try {
    importResponseSchema.parse(
      await input.client.json({
        method: 'POST',
        path: '/api/conversations/import',
        query: {
          working_dir: options.to.workingDir,
          teleport_from: input.from,
          pending: 'true',
        },
        headers: { 'content-type': body.contentType },
        // fetch streams an async iterable body (with `duplex: 'half'`).
        body: body.body,
        streamBody: true,
        timeout: null,
        context: { conversationId: conversation.id, operation: 'import the conversation' },
      }),
    );
  } catch (error) {
    stream.destroy();
    throw error;
  }
  return manifest;
}
