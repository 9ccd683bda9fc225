import {
  BASE_STATE_FILE,
  BundleBaseMismatchError,
  BundleConflictError,
  ConversationClosedError,
  ConversationRunningError,
  ConversationTeleportedError,
  FerryError,
  LocalConversation,
  LocalFileStore,
  conversationFolderName,
  conversationStateSchema,
  importConversationBundle,
  readBundleBase,
  readBundleManifest,
  verifyAgent,
  type BundleBase,
  type BundleManifest,
  type FileStore,
} from '@ferry/sdk-core';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { closeAsDeparted, type RemoteConversation } from '../conversation/remote-conversation';
import { RemoteServerError } from '../errors/remote-server-error';
import { HttpClient } from '../http/http-client';
import { readDeparture } from './departure-record';
import { receiveBundle } from './received-bundle';
import { localPlace, type LocalDestination, type TeleportOptions } from './teleport-options';
import { workspaceConflicts } from './workspace-conflicts';

/**
 * Brings a conversation back from a server (see `teleport`).
 */
export async function toLocal(
  conversation: RemoteConversation,
  options: TeleportOptions<LocalDestination>,
): Promise<LocalConversation> {
  const { persistenceDir, workspace } = options.to;
  if (conversation.closed) throw new ConversationClosedError(conversation.id);
  const id = conversation.id;
  const root = new LocalFileStore({ root: persistenceDir });
  const folder = root.scope(conversationFolderName(id));
  const place = localPlace(persistenceDir);
  const includeWorkspace = options.includeWorkspace === true;
  // What this machine still holds (the copy parked here when it left) is read while the
  // server is asked where the conversation is: only what it lacks comes back, proved against
  // its checksums; a copy that diverged gets the whole conversation. Reading changes nothing,
  // so it is simply dropped when the answer ends the teleport first.
  const describing = (async () => {
    await checkLocalCopy(folder, id, options.overwrite === true);
    return readBundleBase({
      store: folder,
      ...(includeWorkspace ? { workspaceDir: workspace.workingDir } : {}),
    });
  })();
  describing.catch(() => undefined);
  const current = await conversation.refresh();
  const parked = current.teleport;
  // An earlier teleport back here was cut off after the server's copy was parked for here.
  const resuming = parked !== undefined && parked !== null;
  if (resuming && parked.to !== place) {
    throw new ConversationTeleportedError(id, parked.to, parked.at);
  }
  if (!resuming && current.execution_status === 'running') {
    throw new ConversationRunningError(id, 'teleport');
  }
  if (options.agent !== undefined) verifyAgent(options.agent, current.agent);
  if (resuming && (await localCopyIsLive(folder))) {
    // It had arrived: only the hand-over was left.
    await closeAsDeparted(conversation, { to: place, at: parked.at });
    return openHere(id, options, conversation.host, undefined);
  }

  const client = new HttpClient({
    host: conversation.host,
    apiKey: conversation.apiKey,
    timeout: 60,
    caller: 'teleport',
  });
  const base = await describing;
  // A temporary folder, made only for a bundle too large to receive in memory.
  let staging: string | undefined;
  const stagingFile = async (name: string) => {
    staging ??= await mkdtemp(join(tmpdir(), 'ferry-teleport-'));
    return join(staging, name);
  };
  const attempt = (from: BundleBase | undefined) =>
    bringBack({
      conversation,
      options,
      client,
      root,
      folder,
      place,
      resuming,
      stagingFile,
      base: from,
    });
  try {
    let manifest: BundleManifest;
    try {
      manifest = await attempt(base);
    } catch (error) {
      // The copy here changed between its description and the import: take it all.
      if (base === undefined || !BundleBaseMismatchError.isInstance(error)) throw error;
      manifest = await attempt(undefined);
    }
    await closeAsDeparted(conversation, { to: place, at: new Date().toISOString() });
    const bytes = manifest.files.reduce((sum, file) => sum + file.size, 0);
    options.onProgress?.({
      stage: 'open',
      bytes,
      totalBytes: bytes,
      events: manifest.event_count,
      totalEvents: manifest.event_count,
    });
    return await openHere(id, options, conversation.host, manifest.bundle_id);
  } finally {
    if (staging !== undefined) await rm(staging, { recursive: true, force: true });
  }
}

/**
 * Downloads the bundle (a delta on `base`, when given and the server can extend it), parks the
 * server's copy for here and imports the bundle. A delta that no longer matches the copy here
 * throws `BundleBaseMismatchError` as it is, for the caller to take the whole conversation.
 */
async function bringBack(input: {
  conversation: RemoteConversation;
  options: TeleportOptions<LocalDestination>;
  client: HttpClient;
  root: LocalFileStore;
  folder: FileStore;
  place: string;
  resuming: boolean;
  stagingFile: (name: string) => Promise<string>;
  base: BundleBase | undefined;
}): Promise<BundleManifest> {
  const { conversation, options, client, folder, place } = input;
  const { workspace } = options.to;
  const id = conversation.id;
  const includeWorkspace = options.includeWorkspace === true;
  const bundle = await download({
    client,
    id,
    includeWorkspace,
    file: () => input.stagingFile(`${input.base === undefined ? 'full' : 'delta'}.tar.gz`),
    options,
    base: input.base,
  });
  const manifest = await readBundleManifest(bundle);
  if (includeWorkspace && options.overwrite !== true) {
    const conflicts = await workspaceConflicts({
      manifest,
      workspaceDir: workspace.workingDir,
      departure: await readDeparture(folder),
    });
    if (conflicts.length > 0) {
      throw new BundleConflictError({
        conversationId: id,
        location: workspace.workingDir,
        files: conflicts,
      });
    }
  }
  // The server's copy is parked (only if nothing was appended there since the export) while
  // the bundle is written here, parked too: from here on at most one copy is ever runnable, and
  // the open records the arrival. A crash before that leaves it parked there for here and here
  // for there; teleporting it back again finishes the move (a delta import cut off leaves the
  // log here a prefix of the server's). Workspace files are written only once the server's copy
  // is parked: a refused parking must leave them as they were.
  const park = () =>
    input.resuming ? Promise.resolve() : markServerCopy(client, id, place, manifest);
  const write = async () => {
    try {
      await importConversationBundle({
        source: bundle,
        store: input.root,
        ...(includeWorkspace ? { workspaceDir: workspace.workingDir } : {}),
        // Conflicts were checked above: what is left to replace is the parked copy and files
        // only the other side changed.
        overwrite: true,
        parkedFor: { to: conversation.host },
        onProgress: (progress) =>
          options.onProgress?.({
            stage: 'import',
            bytes: progress.bytes,
            ...(progress.totalBytes === undefined ? {} : { totalBytes: progress.totalBytes }),
            // A delta counts its new events on top of those the copy here held.
            events: (manifest.base?.event_count ?? 0) + (progress.events ?? 0),
            totalEvents: manifest.event_count,
          }),
      });
    } catch (error) {
      if (input.base !== undefined && BundleBaseMismatchError.isInstance(error)) throw error;
      throw new FerryError(
        'TELEPORT_INCOMPLETE',
        `Conversation ${id} is parked on ${conversation.host} for ${place}, but writing it here ` +
          `failed: ${error instanceof Error ? error.message : String(error)}. Teleport it back again to finish the move.`,
        { cause: error },
      );
    }
  };
  if (includeWorkspace) {
    await park();
    await write();
  } else {
    const [parked, written] = await Promise.allSettled([park(), write()]);
    // A refused parking first: the conversation then stays there (the copy here stays parked).
    if (parked.status === 'rejected') throw parked.reason;
    if (written.status === 'rejected') throw written.reason;
  }
  return manifest;
}

/**
 * Opens the conversation that arrived here and records the hop: with a `bundleId`, the open
 * itself un-parks it and appends the `TeleportEvent` (`arrival`); without, a copy that had
 * already arrived is only un-parked if it still is.
 */
async function openHere(
  id: string,
  options: TeleportOptions<LocalDestination>,
  from: string,
  bundleId: string | undefined,
): Promise<LocalConversation> {
  const { persistenceDir, workspace } = options.to;
  let local: LocalConversation;
  try {
    local = await LocalConversation.open({
      ...(options.agent === undefined ? {} : { agent: options.agent }),
      workspace,
      persistenceDir,
      conversationId: id,
      ...(options.onEvent === undefined ? {} : { onEvent: options.onEvent }),
      ...(bundleId === undefined
        ? {}
        : { arrival: { from, to: localPlace(persistenceDir), bundleId } }),
    });
  } catch (error) {
    throw new FerryError(
      'TELEPORT_OPEN_FAILED',
      `Conversation ${id} now lives in ${persistenceDir}, but opening it failed: ` +
        `${error instanceof Error ? error.message : String(error)}. Open it with LocalConversation.open().`,
      { cause: error },
    );
  }
  if (
    bundleId === undefined &&
    local.state.teleport !== undefined &&
    local.state.teleport !== null
  ) {
    await local.updateState({ teleport: null });
  }
  return local;
}

/** Whether this machine holds a runnable (not parked) copy of the conversation. */
async function localCopyIsLive(folder: LocalFileStore): Promise<boolean> {
  const text = await folder.readText(BASE_STATE_FILE);
  if (text === undefined) return false;
  const state = conversationStateSchema.safeParse(JSON.parse(text));
  return state.success && (state.data.teleport === undefined || state.data.teleport === null);
}

/** Refuses to replace a local copy that is not the one this conversation left parked here. */
async function checkLocalCopy(
  folder: LocalFileStore,
  id: string,
  overwrite: boolean,
): Promise<void> {
  const text = await folder.readText(BASE_STATE_FILE);
  if (text === undefined || overwrite) return;
  const state = conversationStateSchema.safeParse(JSON.parse(text));
  const parked = state.success && state.data.teleport !== undefined && state.data.teleport !== null;
  if (!parked) {
    throw new BundleConflictError({ conversationId: id, location: folder.describe('') });
  }
}

/**
 * Downloads the server's bundle of the conversation (into memory, or `file()` when large):
 * `GET .../export`, or with a `base` `POST .../export`, which answers only what that base lacks.
 */
async function download(input: {
  client: HttpClient;
  id: string;
  includeWorkspace: boolean;
  /** Where a bundle too large for memory goes (see `receiveBundle`). */
  file: () => Promise<string>;
  options: TeleportOptions<LocalDestination>;
  base: BundleBase | undefined;
}): Promise<Uint8Array | string> {
  const { client, id, base } = input;
  const onProgress = input.options.onProgress;
  const response = await client.send({
    path: `/api/conversations/${id}/export`,
    ...(base === undefined
      ? { query: { include_workspace: input.includeWorkspace } }
      : { method: 'POST', json: { include_workspace: input.includeWorkspace, base } }),
    headers: { accept: 'application/gzip' },
    timeout: null,
    context: { conversationId: id, operation: 'export the conversation' },
  });
  if (response.body === null) {
    throw new RemoteServerError(`The server sent an empty bundle for conversation ${id}.`);
  }
  const length = Number(response.headers.get('content-length'));
  let bytes = 0;
  const source = Readable.fromWeb(response.body as WebReadableStream<Uint8Array>);
  async function* counted(): AsyncGenerator<Buffer> {
    for await (const chunk of source as AsyncIterable<Buffer>) {
      bytes += chunk.length;
      onProgress?.({
        stage: 'download',
        bytes,
        ...(Number.isFinite(length) && length > 0 ? { totalBytes: length } : {}),
        events: 0,
      });
      yield chunk;
    }
  }
  return receiveBundle(counted(), input.file);
}

/**
 * Parks the server's copy: from now on it refuses to run, saying where it went. The server
 * refuses (409 `BUNDLE_SOURCE_CHANGED`) when events were appended there since the export.
 */
async function markServerCopy(
  client: HttpClient,
  id: string,
  to: string,
  manifest: BundleManifest,
): Promise<void> {
  try {
    await client.json({
      method: 'POST',
      path: `/api/conversations/${id}/mark_teleported`,
      json: { to, bundle_id: manifest.bundle_id, event_count: manifest.event_count },
      context: { conversationId: id, operation: 'mark the conversation teleported' },
    });
  } catch (error) {
    // Parked for here already: an earlier request of this teleport got through.
    if (ConversationTeleportedError.isInstance(error) && error.to === to) return;
    if (RemoteServerError.isInstance(error) && error.serverCode === 'BUNDLE_SOURCE_CHANGED') {
      throw new FerryError(
        'TELEPORT_SOURCE_CHANGED',
        `Conversation ${id} changed on ${client.host} while it was being teleported (events were ` +
          `appended after the export of ${manifest.event_count}); it stays there. Teleport it again.`,
        { cause: error },
      );
    }
    throw error;
  }
}
