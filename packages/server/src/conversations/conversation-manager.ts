import {
  ConversationLockedError,
  FerryError,
  LeaseLostError,
  FileConversationStore,
  LocalFileStore,
  type ConversationState,
  type ConversationStore,
  type FileStore,
  type ToolDefinition,
  type LocalConversation,
  assertRunnableAgent,
  parseAgent,
} from '@ferry/sdk-core';
import type { SandboxOptions } from '@ferry/workspace-local';
import type { FastifyBaseLogger } from 'fastify';
import { mkdir, realpath } from 'node:fs/promises';
import { join } from 'node:path';
import type { ClusterStore } from '../cluster/cluster-store';
import { serverErrors } from '../errors/http-status';
import { attachAutoTitle, type TitleLlmLoader } from './auto-title';
import { ConversationBundles } from './conversation-bundles';
import { ConversationCatalog, type ConversationRecord } from './conversation-catalog';
import { ConversationRecovery } from './conversation-recovery';
import {
  ConversationFactory,
  type CreateConversationInput,
  type OpenedConversation,
} from './conversation-factory';
import { canonicalConversationId, folderOf, newConversationId } from './conversation-id';
import { StoreFollowers } from './store-followers';
import { ConversationWatchers, type EventWatcher } from './conversation-watchers';
import { OpenConversation, describeError } from './open-conversation';
import { OpenConversationTable } from './open-conversation-table';
import { UPLOADS_FOLDER, isDirectory, removeAbandonedUploads } from './uploads-folder';

export type { ConversationRecord } from './conversation-catalog';
export type { ImportBundleInput } from './conversation-bundles';
export type { CreateConversationInput } from './conversation-factory';

/** Options of {@link ConversationManager.start}. */
export interface ConversationManagerOptions {
  /** Absolute data folder; conversations live in `<dataDir>/conversations/<id without dashes>/`. */
  dataDir: string;
  /** Absolute folder under which every conversation works. */
  workspaceRoot: string;
  /** Key that encrypts persisted secrets (else `FERRY_SECRET_KEY`, else secrets are redacted on disk). */
  secretKey?: string | undefined;
  /** Seconds a conversation stays open unused before it is closed (default 600). */
  idleTimeout?: number | undefined;
  /** Tools agents may reference besides the built-in ones. */
  tools?: readonly ToolDefinition[] | undefined;
  /** The store conversations are written through, rooted at `<dataDir>/conversations` (default a `LocalFileStore`). */
  store?: FileStore | undefined;
  /**
   * A cluster's shared store (`PostgresStore`): conversations live there instead of under
   * `dataDir`, and several server processes share them (see `ConversationManager.clustered`).
   */
  clusterStore?: ClusterStore | undefined;
  /**
   * Continue the runs that were `running` when their owner stopped (this server before a
   * restart, or a dead replica), after recording the interruption (default `true`).
   */
  continueRuns?: boolean | undefined;
  /** Run every conversation's workspace in a bubblewrap sandbox (see `LocalWorkspace`). */
  sandbox?: boolean | SandboxOptions | undefined;
  /** Loads a stored LLM profile for titles (`title_llm_profile`); without it titles are truncated. */
  titleLlm?: TitleLlmLoader | undefined;
  logger: FastifyBaseLogger;
}

/** What a fork starts with. */
export interface ForkConversationInput {
  conversationId?: string | null | undefined;
  fromEventId?: string | null | undefined;
  title?: string | null | undefined;
  tags?: Record<string, string> | null | undefined;
}

const DEFAULT_IDLE_TIMEOUT_SECONDS = 600;

/** A cluster conversation whose lease is changing hands: a retry reaches its new holder. */
function moving(id: string, cause: unknown): FerryError {
  return new FerryError(
    'CONVERSATION_MOVING',
    `Conversation ${id} is changing replicas (another replica holds or took over its lease); ` +
      'retry in a moment.',
    { cause },
  );
}
/** State documents read at once when listing. */
const LIST_CONCURRENCY = 32;

/**
 * Every conversation of the server, through its `ConversationStore` (the file store under
 * `<dataDir>/conversations` by default, or a cluster's `PostgresStore`). Listing, search and
 * count read only the state documents; a conversation's log is loaded when it is used, and it
 * is closed again (lease released) after `idleTimeout` seconds without requests, sockets or a run.
 */
export class ConversationManager {
  /** `<dataDir>/conversations`. */
  readonly conversationsDir: string;
  readonly workspaceRoot: string;
  /** Where conversations live. */
  readonly store: ConversationStore;
  /**
   * The shared store when this server is a cluster replica: other processes hold some leases,
   * and a lease this one held may be taken over.
   */
  readonly clusterStore: ClusterStore | undefined;

  readonly #catalog: ConversationCatalog;
  readonly #factory: ConversationFactory;
  readonly #options: ConversationManagerOptions;
  readonly #log: FastifyBaseLogger;
  readonly #table: OpenConversationTable;
  readonly #watchers = new ConversationWatchers();
  /** Event sockets following the shared store (cluster), by conversation: each its onDeleted. */
  readonly #storeFollowers = new StoreFollowers();
  /** Export, import and the teleport bookkeeping (parking, confirming an arrival). */
  readonly bundles: ConversationBundles;
  readonly #recovery: ConversationRecovery;
  #closed = false;
  #stopLeaseWatch: (() => void) | undefined;

  private constructor(options: ConversationManagerOptions, realWorkspaceRoot: string) {
    this.#options = options;
    this.#log = options.logger;
    this.conversationsDir = join(options.dataDir, 'conversations');
    this.workspaceRoot = options.workspaceRoot;
    this.#table = new OpenConversationTable({
      log: options.logger,
      idleMs: (options.idleTimeout ?? DEFAULT_IDLE_TIMEOUT_SECONDS) * 1000,
    });
    this.clusterStore = options.clusterStore;
    this.store =
      options.clusterStore ??
      new FileConversationStore({
        files: options.store ?? new LocalFileStore({ root: this.conversationsDir }),
      });
    this.#factory = new ConversationFactory({
      store: this.store,
      workspaceRoot: options.workspaceRoot,
      realWorkspaceRoot,
      secretKey: options.secretKey,
      tools: options.tools,
      sandbox: options.sandbox,
      logger: options.logger,
    });
    this.#catalog = new ConversationCatalog(
      this.store,
      options.clusterStore === undefined ? this.conversationsDir : undefined,
    );
    this.bundles = new ConversationBundles({
      store: this.store,
      entries: this.#table.entries,
      opening: this.#table.opening,
      assertRunning: () => this.#assertRunning(),
      readState: (id) => this.#readState(id),
      hasTraces: (id) => this.#hasTraces(id),
      workingDir: (id, requested) => this.#factory.workingDir(id, requested),
      evict: (id, reason) => this.#table.evict(id, reason),
      open: async (id, workingDir, openOptions) => {
        const opened = await this.#factory.openStored(id, workingDir, openOptions);
        return this.#register(opened);
      },
      get: (id) => this.get(id),
      use: (id, work) => this.use(id, work),
    });
    this.#recovery = new ConversationRecovery({
      log: options.logger,
      continuesRuns: () => this.continuesRuns,
      ids: () => this.#catalog.ids(),
      readState: (id) => this.#readState(id),
      entry: (id) => this.#table.entries.get(id),
      acquire: (id) => this.acquire(id),
      release: (entry) => this.release(entry),
      evict: (id, reason) => this.#table.evict(id, reason),
    });
  }

  /**
   * Creates the folders, recovers conversations that were `running` when the server died (they
   * become `error`, their interrupted actions answered, as `LocalConversation.open` does) and
   * starts idle eviction.
   */
  static async start(options: ConversationManagerOptions): Promise<ConversationManager> {
    await mkdir(join(options.dataDir, 'conversations'), { recursive: true });
    await mkdir(options.workspaceRoot, { recursive: true });
    const manager = new ConversationManager(options, await realpath(options.workspaceRoot));
    // Bundles are imported as they arrive now; releases before 2026-12 staged them in
    // `<dataDir>/.uploads`. What crashed ones left there is garbage; a live one's is not.
    await removeAbandonedUploads(join(options.dataDir, UPLOADS_FOLDER));
    manager.#stopLeaseWatch = options.clusterStore?.onLeaseLost((lease) =>
      manager.#recovery.leaseLost(lease),
    );
    // A cluster replica takes over stale leases (its own included) as they are found.
    if (options.clusterStore === undefined) await manager.#recovery.recoverInterrupted();
    manager.#table.startSweeping();
    return manager;
  }

  /** Ids of the conversations open in memory now, those still closing included. */
  get openIds(): string[] {
    return this.#table.ids;
  }

  /**
   * Whether the conversation is open in memory now, or still closing (its lock is released only
   * once closing has finished).
   */
  isOpen(id: string): boolean {
    const canonical = canonicalConversationId(id);
    return canonical !== undefined && this.#table.isOpen(canonical);
  }

  /**
   * How many event sockets are subscribed to the conversation now: those of the open
   * conversation, and (in a cluster) those following the shared store here.
   */
  subscriberCount(id: string): number {
    const canonical = canonicalConversationId(id);
    if (canonical === undefined) return 0;
    const followers = this.#storeFollowers.count(canonical);
    return (this.#table.entries.get(canonical)?.subscribers ?? 0) + followers;
  }

  /**
   * Registers an event socket of a cluster replica, which follows the shared store rather than
   * an open conversation, to be counted by {@link subscriberCount}. Returns what unregisters it.
   */
  followStore(id: string): () => void {
    return this.#storeFollowers.follow(id);
  }

  /** Whether conversations continue runs their owner left `running` (`--no-continue-runs`: no). */
  get continuesRuns(): boolean {
    return this.#options.continueRuns ?? true;
  }

  /**
   * Tells `watcher` every event appended to conversation `id` (canonical) from now on, whether
   * it is open now or opened later by any request; returns the function that stops it.
   */
  watch(id: string, watcher: EventWatcher): () => void {
    return this.#watchers.watch(id, watcher);
  }

  /** Every stored conversation, from the state documents only (no event log is read). */
  async list(): Promise<ConversationRecord[]> {
    const ids = await this.#catalog.ids();
    const records: (ConversationRecord | undefined)[] = [];
    // A bounded number of files open at once, however many conversations there are.
    for (let start = 0; start < ids.length; start += LIST_CONCURRENCY) {
      const batch = ids.slice(start, start + LIST_CONCURRENCY);
      records.push(...(await Promise.all(batch.map((id) => this.#listed(id)))));
    }
    return records.filter((record): record is ConversationRecord => record !== undefined);
  }

  async #listed(id: string): Promise<ConversationRecord | undefined> {
    try {
      return await this.#recordOf(id);
    } catch (error) {
      this.#log.warn(
        { conversation_id: id, err: describeError(error) },
        'skipping a conversation whose state cannot be read',
      );
      return undefined;
    }
  }

  /**
   * One conversation, read without opening it when it is not open.
   *
   * @throws CONVERSATION_NOT_FOUND (404).
   */
  async get(id: string): Promise<ConversationRecord> {
    const canonical = canonicalConversationId(id);
    const record = canonical === undefined ? undefined : await this.#recordOf(canonical);
    if (record === undefined) throw serverErrors.conversationNotFound(id);
    return record;
  }

  /** Like {@link get} but `undefined` for an unknown id. */
  async find(id: string): Promise<ConversationRecord | undefined> {
    const canonical = canonicalConversationId(id);
    return canonical === undefined ? undefined : this.#recordOf(canonical);
  }

  /** Opens the conversation (if needed), runs `work` with it, and lets it go idle again. */
  async use<T>(id: string, work: (entry: OpenConversation) => Promise<T> | T): Promise<T> {
    const entry = await this.acquire(id);
    try {
      return await work(entry);
    } catch (error) {
      // Another replica took the conversation over: it stops here, and the client retries there.
      if (this.clusterStore !== undefined && LeaseLostError.isInstance(error)) {
        this.#recovery.dropLost(entry, error.message);
        throw moving(entry.id, error);
      }
      throw error;
    } finally {
      this.release(entry);
    }
  }

  /**
   * Opens the conversation if needed and holds it open until {@link release}.
   *
   * @throws CONVERSATION_NOT_FOUND (404), ConversationLockedError when another process has it.
   */
  async acquire(id: string): Promise<OpenConversation> {
    const canonical = canonicalConversationId(id);
    if (canonical === undefined) throw serverErrors.conversationNotFound(id);
    let entry: OpenConversation;
    try {
      entry = await this.#open(canonical);
    } catch (error) {
      // A replica's lease changing hands between the routing check and this open.
      if (this.clusterStore !== undefined && ConversationLockedError.isInstance(error)) {
        throw moving(canonical, error);
      }
      throw error;
    }
    entry.leases += 1;
    entry.lastUsed = Date.now();
    return entry;
  }

  /** Gives back what {@link acquire} took. */
  release(entry: OpenConversation): void {
    entry.leases = Math.max(0, entry.leases - 1);
    entry.lastUsed = Date.now();
  }

  /**
   * Creates a conversation, or returns the existing one with that id unchanged (`created:
   * false`; replace its agent with `PUT .../agent`). A creation that fails half-way removes
   * what it wrote.
   */
  async create(
    input: CreateConversationInput,
  ): Promise<{ record: ConversationRecord; created: boolean }> {
    this.#assertRunning();
    const id = newConversationId(input.conversationId);
    const pending = this.#table.opening.get(id);
    if (pending !== undefined) await pending.catch(() => undefined);
    const existing = await this.#recordOf(id);
    if (existing !== undefined) return { record: existing, created: false };
    // Before the workspace folder is made: an agent it could not run creates nothing.
    assertRunnableAgent(parseAgent(input.agent));

    await this.#table.track(id, this.#create(id, input));
    return { record: await this.get(id), created: true };
  }

  /**
   * Forks a conversation into a new one that works in the same folder.
   *
   * @throws CONVERSATION_EXISTS (409) when the fork's id is taken, EVENT_NOT_FOUND (404).
   */
  async fork(id: string, input: ForkConversationInput): Promise<ConversationRecord> {
    const forkId = newConversationId(input.conversationId);
    await this.use(id, async (source) => {
      if (this.#table.entries.has(forkId) || (await this.#recordOf(forkId)) !== undefined) {
        throw new FerryError(
          'CONVERSATION_EXISTS',
          `fork: conversation ${forkId} already exists; choose another id.`,
        );
      }
      const workspace = this.#factory.newWorkspace(source.workspace.workingDir);
      let fork: LocalConversation;
      try {
        fork = await source.conversation.fork({
          conversationId: forkId,
          workspace,
          ...(input.fromEventId == null ? {} : { fromEventId: input.fromEventId }),
          ...(input.title == null ? {} : { title: input.title }),
        });
      } catch (error) {
        await workspace.close();
        throw error;
      }
      await fork.updateState({ created_at: new Date().toISOString() });
      if (input.tags != null) await fork.updateMetadata({ tags: input.tags });
      this.#register({ conversation: fork, workspace });
    });
    return this.get(forkId);
  }

  /**
   * Deletes a conversation: interrupts its run, closes it and removes its folder. Its
   * workspace files stay.
   *
   * @throws CONVERSATION_NOT_FOUND (404).
   */
  async delete(id: string): Promise<void> {
    const canonical = canonicalConversationId(id);
    if (canonical === undefined) throw serverErrors.conversationNotFound(id);
    await this.#table.opening.get(canonical)?.catch(() => undefined);
    if (!this.#table.entries.has(canonical) && (await this.#readState(canonical)) === undefined) {
      throw serverErrors.conversationNotFound(id);
    }
    await this.#table.evict(canonical, 'deleted');
    await this.store.deleteConversation(canonical);
  }

  /**
   * Closes every conversation: runs are interrupted (their actions answered, status `paused`),
   * logs flushed, locks released.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopLeaseWatch?.();
    await this.#table.closeAll('shutdown');
  }

  #assertRunning(): void {
    if (this.#closed) {
      throw new FerryError('SERVER_SHUTTING_DOWN', 'The server is shutting down.');
    }
  }

  #open(id: string): Promise<OpenConversation> {
    this.#assertRunning();
    return this.#table.open(id, (loading) => this.#load(loading));
  }

  async #load(id: string): Promise<OpenConversation> {
    const persisted = await this.#readState(id);
    if (persisted === undefined) throw serverErrors.conversationNotFound(id);
    const entry = this.#register(
      await this.#factory.openStored(id, persisted.workspace.working_dir),
    );
    if (entry.conversation.openReport.recoveredFromCrash) {
      this.#log.warn(
        { conversation_id: id },
        'conversation was running when the server stopped; recovered as error',
      );
    }
    return entry;
  }

  async #create(id: string, input: CreateConversationInput): Promise<OpenConversation> {
    const entry = this.#register(await this.#factory.create(id, input), { titleFromLog: true });
    if (input.initialMessage?.run === true) await entry.ensureRunning();
    return entry;
  }

  /** Whether anything of the conversation is stored (events or side files without a state). */
  async #hasTraces(id: string): Promise<boolean> {
    if (this.clusterStore === undefined) {
      return isDirectory(join(this.conversationsDir, folderOf(id)));
    }
    return (await this.store.eventCount(id)) > 0;
  }

  #register(
    { conversation, workspace }: OpenedConversation,
    { titleFromLog = false }: { titleFromLog?: boolean } = {},
  ): OpenConversation {
    const log = this.#log.child({ conversation_id: conversation.id });
    const entry: OpenConversation = new OpenConversation(conversation, workspace, log, (error) =>
      this.#recovery.dropLost(entry, error.message),
    );
    this.#watchers.attach(conversation);
    this.#table.entries.set(conversation.id, entry);
    attachAutoTitle(entry, {
      loadLlm: this.#options.titleLlm ?? (() => Promise.resolve(undefined)),
      log,
      fromLog: titleFromLog,
    });
    return entry;
  }

  /**
   * Opens a conversation whose owner stopped while it ran (this server before a restart, or a
   * dead replica whose lease lapsed): opening records the interruption as the resume contract
   * says, and, unless `continueRuns` is off, the run goes on here. Resolves `true` when it was
   * taken over and continued.
   */
  takeOver(id: string): Promise<boolean> {
    return this.#recovery.takeOver(id);
  }

  /** The persisted state (secrets as sealed in the store), or `undefined` when there is none. */
  #readState(id: string): Promise<ConversationState | undefined> {
    return this.#catalog.readState(id);
  }

  async #recordOf(id: string): Promise<ConversationRecord | undefined> {
    const open = this.#table.entries.get(id);
    // A run whose status has left `running` still appends its last events: a client that sees
    // `finished` (or `paused`, `error`) must find them in the log when it reads it next.
    await open?.settle();
    const state = open === undefined ? await this.#readState(id) : open.conversation.state;
    if (state === undefined) return undefined;
    return this.#catalog.record(id, state, open === undefined);
  }
}
