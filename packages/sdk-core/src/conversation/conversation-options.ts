import type { AgentInput } from '../agent/agent-schema';
import type { ResumeChange } from '../agent/verify-agent';
import type { AnyEvent } from '../event/parse-event';
import type { LanguageModelFactory } from '../llm/call-llm';
import type { FileStore } from '../persistence/file-store';
import type { ConversationStore } from '../store/conversation-store';
import type { ToolDefinition } from '../tool/tool-definition';
import type { ToolRegistry } from '../tool/tool-registry';
import type { StuckThresholds } from './stuck-detector';

/** What a conversation needs of its workspace to persist where it runs. */
export interface ConversationWorkspace {
  /** `LocalWorkspace`, `RemoteWorkspace`, ... */
  readonly kind: string;
  /** Absolute working directory. */
  readonly workingDir: string;
}

/** Listener of new events; called after the event is durably in the log. */
export type EventListener = (event: AnyEvent) => void;

/** Options of {@link LocalConversation.open}. */
export interface LocalConversationOptions {
  /** The agent. Required for a new conversation; on resume it replaces the persisted one after verification. */
  agent?: AgentInput;
  /** Where the agent works. Always the runtime one, never restored. */
  workspace: ConversationWorkspace;
  /**
   * Root folder of conversations; this one lives in `<persistenceDir>/<id without dashes>`.
   * Shorthand for `store: new FileConversationStore({ root: persistenceDir })`.
   */
  persistenceDir?: string;
  /**
   * Where the conversation persists instead of a folder: any `ConversationStore`
   * (`InMemoryConversationStore`, `PostgresStore` of `@ferry/store-postgres`, ...), or a
   * `FileStore` holding the folder layout (e.g. `InMemoryFileStore`). Wins over
   * `persistenceDir`. The store stays open when the conversation closes: close it yourself.
   */
  store?: ConversationStore | FileStore;
  /**
   * Milliseconds the conversation's lease lasts unless renewed; while open, the conversation
   * renews it every third of that. Absent: the store's default (folders and memory: no expiry).
   */
  leaseTtlMs?: number;
  /** The conversation's id (a UUID); a new one when absent. */
  conversationId?: string;
  /** Most agent steps per `run()`; persisted, and the persisted value is kept when absent. */
  maxIterations?: number;
  /** Turn stuck detection on or off; persisted, and the persisted value is kept when absent. */
  stuckDetection?: boolean;
  /** Key that encrypts persisted secrets; defaults to `FERRY_SECRET_KEY`. Without one, secrets are redacted on disk. */
  secretKey?: string;
  /** Called with every new event, after it is durably in the log. */
  onEvent?: EventListener;
  /** Called with recoverable problems (torn last line, secrets that could not be decrypted). Default: `console.warn`. */
  onWarning?: (message: string) => void;
  /** fsync every append and state write (default true). Turn off only for throwaway conversations. */
  fsync?: boolean;
  /** Title of a new conversation. */
  title?: string;
  /**
   * Tools the agent may reference by name, besides the built-in `finish`, `think` and
   * `task_tracker` (a registry replaces the built-ins).
   */
  tools?: readonly ToolDefinition[] | ToolRegistry;
  /** Called with streamed LLM text as it arrives (never persisted). */
  onTextDelta?: (delta: string) => void;
  /** Thresholds of the stuck detector (when `stuckDetection` is on). */
  stuckThresholds?: Partial<StuckThresholds>;
  /**
   * Makes the AI SDK model for an LLM document (the agent's and the condenser's) instead of
   * Ferry's routing: any `@ai-sdk/*` provider, or an in-process model. Not persisted: pass it
   * again on every open. Return `undefined` for documents Ferry should route itself.
   */
  languageModel?: LanguageModelFactory;
  /**
   * Records a teleport's arrival as part of the open, as `recordArrival` would right after it:
   * the parked mark is cleared and a `TeleportEvent` appended (and given to `onEvent`), written
   * with the open's own append and state write. Only for a conversation the store holds (one a
   * teleport just imported); a new one is refused with `InvalidOptionError`.
   */
  arrival?: TeleportHop;
}

/** One hop of a teleported conversation, as its `TeleportEvent` records it. */
export interface TeleportHop {
  /** Where it came from (a server's origin, or a local place). */
  from: string;
  /** Where it arrived. */
  to: string;
  /** The bundle that carried it. */
  bundleId: string;
}

/** How {@link LocalConversation.open} treated the persisted conversation. */
export interface OpenReport {
  /** `created` for a new conversation, `resumed` otherwise. */
  mode: 'created' | 'resumed';
  /** Agent fields that changed on resume (secrets redacted). */
  agentChanges: ResumeChange[];
  /**
   * True when the conversation was found `running` (its process stopped mid-run). It is then
   * `finished` when the log shows the run had ended (the agent's last step finished it, and
   * only the status was not written yet), and `error` otherwise.
   */
  recoveredFromCrash: boolean;
  /**
   * How the live context was found on resume: `snapshot` (the context snapshot agreed with the
   * log, so only events since the last condensation and the older ones still in context were
   * read), `rebuilt` (it was missing or disagreed: the whole log was read and it was written
   * again), `full-log` (no condensation yet, or a store that reads only asynchronously).
   * Absent for a created conversation.
   */
  liveContext?: { source: 'snapshot' | 'rebuilt' | 'full-log'; loadedFrom: number };
}

/** Options of {@link LocalConversation.fork}. */
export interface ForkOptions {
  /** The fork's id; a new UUID when absent. */
  conversationId?: string;
  /** An agent for the fork (verified against this conversation's like a resume); this one's when absent. */
  agent?: AgentInput;
  /** Copy the log up to and including this event; the whole log when absent. */
  fromEventId?: string;
  /** Title of the fork. */
  title?: string;
  /** Workspace of the fork; this conversation's when absent. */
  workspace?: ConversationWorkspace;
}
