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
 *   with `includeWorkspace`, of its working directory), imports it on the server with `agent`,
 *   parks the local copy, and returns a `RemoteConversation` attached to it.
 * - remote -> local (`to` is `{ persistenceDir, workspace }`): exports the bundle from the
 *   server, imports it into `persistenceDir` (replacing the copy it left parked there), opens
 *   it with `agent`, parks the server's copy, and returns the `LocalConversation`.
 *
 * A teleport that fails half-way leaves the source runnable and the destination without the
 * conversation.
 *
 * @throws ConversationRunningError (pause it first), ConversationTeleportedError,
 *   ToolsRemovedError / AgentKindMismatchError (an incompatible `agent`), BundleConflictError,
 *   BundleTooLargeError, RemoteServerError.
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
  const parked = conversation.state.teleport;
  if (parked !== undefined && parked !== null) {
    throw new ConversationTeleportedError(conversation.id, parked.to, parked.at);
  }
  if (conversation.isRunning) throw new ConversationRunningError(conversation.id, 'teleport');
  if (options.agent !== undefined) verifyAgent(options.agent, conversation.agent);
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
  const store = new LocalFileStore({ root: folder });
  const from = localPlace(resolve(folder, '..'));
  // Known once the export has read the log, before the bundle starts streaming.
  const totals: { events?: number } = {};
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

  const client = new HttpClient({
    host: remote.host,
    apiKey: remote.apiKey,
    timeout: 60,
    caller: 'teleport',
  });
  // The agent (with its keys) goes in the body, never in a URL or a header.
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
        query: { working_dir: remote.workingDir, teleport_from: from },
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
    // No answer (the connection broke): the server may have committed the import anyway.
    if (RemoteServerError.isInstance(error) && error.status === undefined) {
      await removeUnconfirmedImport(client, conversation.id);
    }
    throw error;
  }

  // Two runnable copies must never exist: if this copy cannot be parked, take the server's back.
  const withdraw = () =>
    client
      .json({
        method: 'DELETE',
        path: `/api/conversations/${conversation.id}`,
        context: { conversationId: conversation.id },
      })
      .catch(() => undefined);
  const events = conversation.events.raw().slice();
  if (events.length !== manifest.event_count) {
    await withdraw();
    throw new FerryError(
      'TELEPORT_SOURCE_CHANGED',
      `Conversation ${conversation.id} changed while it was being teleported (${manifest.event_count} ` +
        `events left, it now has ${events.length}); it stays here. Teleport it again.`,
    );
  }
  try {
    await conversation.markTeleported({ to: remote.host, bundleId: manifest.bundle_id });
  } catch (error) {
    await withdraw();
    throw error;
  }
  if (options.includeWorkspace === true) {
    // Without this record, coming back treats every differing local file as a conflict.
    await writeDeparture(store, manifest, remote.host).catch(() => undefined);
  }
  await conversation.close();

  try {
    return await RemoteConversation.attachWithEvents({
      host: remote.host,
      ...(remote.apiKey === undefined ? {} : { apiKey: remote.apiKey }),
      conversationId: conversation.id,
      events,
      ...(options.onEvent === undefined ? {} : { onEvent: options.onEvent }),
    });
  } catch (error) {
    throw new FerryError(
      'TELEPORT_ATTACH_FAILED',
      `Conversation ${conversation.id} now lives on ${remote.host}, but attaching to it failed: ` +
        `${error instanceof Error ? error.message : String(error)}. Attach with RemoteConversation.attach().`,
      { cause: error },
    );
  }
}

async function toLocal(
  conversation: RemoteConversation,
  options: TeleportOptions<LocalDestination>,
): Promise<LocalConversation> {
  const { persistenceDir, workspace } = options.to;
  if (conversation.closed) throw new ConversationClosedError(conversation.id);
  const parked = conversation.state.teleport;
  if (parked !== undefined && parked !== null) {
    throw new ConversationTeleportedError(conversation.id, parked.to, parked.at);
  }
  const current = await conversation.refresh();
  if (current.execution_status === 'running') {
    throw new ConversationRunningError(conversation.id, 'teleport');
  }
  if (options.agent !== undefined) verifyAgent(options.agent, current.agent);
  const id = conversation.id;
  const root = new LocalFileStore({ root: persistenceDir });
  const folder = root.scope(conversationFolderName(id));
  const place = localPlace(persistenceDir);
  const includeWorkspace = options.includeWorkspace === true;

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
    try {
      await markServerCopy(client, id, place, manifest);
    } catch (error) {
      await root.remove(conversationFolderName(id), { recursive: true }).catch(() => undefined);
      throw error;
    }
    await closeAsDeparted(conversation, { to: place, at: new Date().toISOString() });
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
    await local.recordArrival({ from: conversation.host, to: place, bundleId: manifest.bundle_id });
    return local;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/**
 * After an import whose answer was lost: a live (not parked) copy of the conversation on the
 * server can only be the one this import made, and the local copy stays the one that runs, so
 * the server's is deleted. Best effort: a server that is gone keeps nothing it did not commit.
 */
async function removeUnconfirmedImport(client: HttpClient, id: string): Promise<void> {
  try {
    const state = conversationStateSchema.parse(
      await client.json({ path: `/api/conversations/${id}`, timeout: 10 }),
    );
    if (state.teleport !== undefined && state.teleport !== null) return;
    await client.json({ method: 'DELETE', path: `/api/conversations/${id}`, timeout: 10 });
  } catch {
    // Unreachable or unknown: nothing to remove.
  }
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

/** Parks the server's copy: from now on it refuses to run, saying where it went. */
async function markServerCopy(
  client: HttpClient,
  id: string,
  to: string,
  manifest: BundleManifest,
): Promise<void> {
  await client.json({
    method: 'POST',
    path: `/api/conversations/${id}/mark_teleported`,
    json: { to, bundle_id: manifest.bundle_id },
    context: { conversationId: id, operation: 'mark the conversation teleported' },
  });
}
