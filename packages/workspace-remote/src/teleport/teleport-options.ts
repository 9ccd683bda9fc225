import type { AgentInput, ConversationWorkspace, EventListener } from '@ferry/sdk-core';
import { hostname } from 'node:os';
import { resolve } from 'node:path';

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
   * the server; `import`: it is checked and written locally; `open`: it is here, the server's
   * copy parked, and the conversation is being opened (its live context read), told once
   * (remote -> local).
   */
  stage: 'upload' | 'download' | 'import' | 'open';
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

/** How this machine's copy is named in `state.teleport` and `TeleportEvent`s. */
export function localPlace(persistenceDir: string): string {
  return `file://${hostname()}${resolve(persistenceDir)}`;
}
