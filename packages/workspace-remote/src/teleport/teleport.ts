import {
  BASE_STATE_FILE,
  BundleConflictError,
  ConversationClosedError,
  ConversationRunningError,
  ConversationTeleportedError,
  FerryError,
  LocalConversation,
  LocalFileStore,
  conversationFolderName,
  conversationStateSchema,
  exportConversationBundle,
  importConversationBundle,
  readBundleManifest,
  verifyAgent,
  type AgentInput,
  type BundleManifest,
  type BundleProgress,
  type ConversationWorkspace,
  type EventListener,
  type StoredEvent,
} from '@ferry/sdk-core';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { z } from 'zod';
import { closeAsDeparted, RemoteConversation } from '../conversation/remote-conversation';
import { RemoteServerError } from '../errors/remote-server-error';
import { HttpClient } from '../http/http-client';
import { multipartStream } from '../http/multipart-stream';
import type { RemoteWorkspace } from '../workspace/remote-workspace';
import { readDeparture, writeDeparture } from './departure-record';
import { workspaceConflicts } from './workspace-conflicts';

/** Where a conversation coming back from a server lands. */
export interface LocalDestination {
  /** The root folder of local conversations (as `LocalConversation.open` takes it). */
  persistenceDir: string;
  /** The local workspace to run in, e.g. `new LocalWorkspace({ workingDir })`. */
  workspace: ConversationWorkspace;
}

/** How far a teleport has come, for a progress bar. */
export interface TeleportProgress {
  /**
   * `upload`: the bundle streams to the server (local -> remote); `download`: it streams from
   * the server; `import`: it is checked and written locally (remote -> local).
   */
  stage: 'upload' | 'download' | 'import';
  /** Bytes of the bundle's files done so far (compressed bytes while downloading). */
  bytes: number;
  /** Bytes in all, when known. */
  totalBytes?: number;
  /** Events done so far. */
  events: number;
  /** Events in the conversation, when known. */
  totalEvents?: number;
}

/** Options of {@link teleport}. */
export interface TeleportOptions<Destination> {
  /** A `RemoteWorkspace` (to a server), or `{ persistenceDir, workspace }` (back here). */
  to: Destination;
  /**
   * The agent to run with on arrival (verified like a resume: same kind, no tool removed). Its
   * secrets travel only in this request, never in the bundle. Without one, the conversation
   * keeps its agent, with its secrets redacted.
   */
  agent?: AgentInput;
  /**
   * Carry the working directory's files (respecting `.gitignore`, at most
   * `maxWorkspaceBytes`), so the other side sees the same files.
   */
  includeWorkspace?: boolean;
  /**
   * Coming back: replace local workspace files changed since the conversation left (else
   * `BundleConflictError` lists them and nothing changes), and a local copy of the
   * conversation that is not the parked one it left behind.
   */
  overwrite?: boolean;
  /** Most bytes of workspace files to carry (default 200 MiB). */
  maxWorkspaceBytes?: number;
  /** Told as the bundle moves. */
  onProgress?: (progress: TeleportProgress) => void;
  /** Called with every new event of the conversation at its destination. */
  onEvent?: EventListener;
}

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
 *   appended there since the export), imports the bundle into `persistenceDir` (replacing the
 *   copy it left parked there), opens it with `agent` and returns the `LocalConversation`.
 *
 * At most one copy is ever runnable, even if either process dies. A teleport to a server that
 * fails before the server confirmed the import (a refusal, the server dying mid-import, a lost
 * answer) leaves this copy runnable; a pending copy left on the server never runs and the next
 * teleport replaces it. Only a cut between the local parking and the server's confirmation, or
 * coming back between the server's parking and the local import, leaves no runnable copy:
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

/** How this machine's copy is named in `state.teleport` and `TeleportEvent`s. */
function localPlace(persistenceDir: string): string {
  return `file://${hostname()}${resolve(persistenceDir)}`;
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
      const events = conversation.events.raw().slice();
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
  // Known once the export has read the log, before the bundle starts streaming.
  const totals: { events?: number } = {};
  // The conversation's files are read now: the bundle is this snapshot, whatever happens later.
  const { manifest, stream } = await exportConversationBundle({
    store,
    ...(options.includeWorkspace === true
      ? { workspaceDir: conversation.workspace.workingDir }
      : {}),
    ...(options.maxWorkspaceBytes === undefined
      ? {}
      : { maxWorkspaceBytes: options.maxWorkspaceBytes }),
    onProgress: (progress: BundleProgress) =>
      options.onProgress?.({
        stage: 'upload',
        bytes: progress.bytes,
        ...(progress.totalBytes === undefined ? {} : { totalBytes: progress.totalBytes }),
        events: progress.events ?? 0,
        ...(totals.events === undefined ? {} : { totalEvents: totals.events }),
      }),
  });
  totals.events = manifest.event_count;
  const events = conversation.events.raw().slice();
  if (events.length !== manifest.event_count) {
    stream.destroy();
    throw new FerryError(
      'TELEPORT_SOURCE_CHANGED',
      `Conversation ${conversation.id} changed while it was being teleported (${manifest.event_count} ` +
        `events exported, it now has ${events.length}); it stays here. Teleport it again.`,
    );
  }

  // 1. The server imports it pending: parked there, still living here. Whatever happens to
  //    this upload (a refusal, the server dying, a lost answer), this copy stays runnable and
  //    the server's, if any, does not run. The agent (with its keys) goes in the body, never in
  //    a URL or a header.
  const body = multipartStream([
    ...(options.agent === undefined
      ? []
      : [{ name: 'agent', value: JSON.stringify(options.agent) }]),
    { name: 'bundle', filename: 'conversation.tar.gz', contentType: 'application/gzip', stream },
  ]);
  try {
    importResponseSchema.parse(
      await client.json({
        method: 'POST',
        path: '/api/conversations/import',
        query: { working_dir: remote.workingDir, teleport_from: from, pending: 'true' },
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

async function toLocal(
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
  const staging = await mkdtemp(join(tmpdir(), 'ferry-teleport-'));
  try {
    const bundle = join(staging, 'conversation.tar.gz');
    await download(client, id, includeWorkspace, bundle, options.onProgress);
    const manifest = await readBundleManifest(bundle);
    await checkLocalCopy(folder, id, options.overwrite === true);
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
    // Parked on the server before it is written here, and only if nothing was appended there
    // since the export: from here on at most one copy is ever runnable. A crash from now until
    // the import below is done leaves it parked there for here; teleporting it back again
    // finishes the move.
    if (!resuming) await markServerCopy(client, id, place, manifest);
    try {
      await importConversationBundle({
        source: bundle,
        store: root,
        ...(includeWorkspace ? { workspaceDir: workspace.workingDir } : {}),
        // Conflicts were checked above: what is left to replace is the parked copy and files
        // only the other side changed.
        overwrite: true,
        onProgress: (progress) =>
          options.onProgress?.({
            stage: 'import',
            bytes: progress.bytes,
            ...(progress.totalBytes === undefined ? {} : { totalBytes: progress.totalBytes }),
            events: progress.events ?? 0,
            totalEvents: manifest.event_count,
          }),
      });
    } catch (error) {
      throw new FerryError(
        'TELEPORT_INCOMPLETE',
        `Conversation ${id} is parked on ${conversation.host} for ${place}, but writing it here ` +
          `failed: ${error instanceof Error ? error.message : String(error)}. Teleport it back again to finish the move.`,
        { cause: error },
      );
    }
    await closeAsDeparted(conversation, { to: place, at: new Date().toISOString() });
    return await openHere(id, options, conversation.host, manifest.bundle_id);
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** Opens the conversation that arrived here and records the hop. */
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
    });
  } catch (error) {
    throw new FerryError(
      'TELEPORT_OPEN_FAILED',
      `Conversation ${id} now lives in ${persistenceDir}, but opening it failed: ` +
        `${error instanceof Error ? error.message : String(error)}. Open it with LocalConversation.open().`,
      { cause: error },
    );
  }
  const place = localPlace(persistenceDir);
  if (bundleId !== undefined) {
    await local.recordArrival({ from, to: place, bundleId });
  } else if (local.state.teleport !== undefined && local.state.teleport !== null) {
    await local.updateState({ teleport: null });
  }
  return local;
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

/** Streams the server's bundle of the conversation to `file`. */
async function download(
  client: HttpClient,
  id: string,
  includeWorkspace: boolean,
  file: string,
  onProgress: TeleportOptions<LocalDestination>['onProgress'],
): Promise<void> {
  const response = await client.send({
    path: `/api/conversations/${id}/export`,
    query: { include_workspace: includeWorkspace },
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
  source.on('data', (chunk: Buffer) => {
    bytes += chunk.length;
    onProgress?.({
      stage: 'download',
      bytes,
      ...(Number.isFinite(length) && length > 0 ? { totalBytes: length } : {}),
      events: 0,
    });
  });
  await pipeline(source, createWriteStream(file));
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
