import {
  BundleConflictError,
  ConversationRunningError,
  exportConversationBundle,
  importConversationBundle,
  openBundle,
  readBundleBase,
  type AgentInput,
  type BundleBase,
  type BundleManifest,
  type ConversationState,
  type ConversationStore,
  type ExportedBundle,
  type ExportedExtent,
  type OpenedBundle,
} from '@ferry/sdk-core';
import type { Readable } from 'node:stream';
import { serverErrors } from '../errors/http-status';
import type { ConversationRecord } from './conversation-catalog';
import { canonicalConversationId } from './conversation-id';
import type { CloseReason, OpenConversation } from './open-conversation';
import { isDirectory } from './uploads-folder';

/** Options of {@link ConversationBundles.importBundle}. */
export interface ImportBundleInput {
  /** The bundle: a `.tar.gz` file's path, or a stream of its bytes, imported as it arrives. */
  source: string | Readable;
  /** An agent to resume with (verified against the bundle's; its secrets are used, never stored in plaintext). */
  agent?: AgentInput | undefined;
  /**
   * Called once the bundle is read and checked, before anything is changed: finishes reading the
   * request it came in; an agent it gives (sent after the bundle) replaces `agent`.
   */
  finishUpload?: (() => Promise<AgentInput | undefined>) | undefined;
  /** Where the conversation works here (same rule as a new one); default its own folder. */
  workingDir?: string | undefined;
  /** Replace a conversation with the same id that is not parked here by a teleport. */
  overwrite?: boolean | undefined;
  /**
   * Record the arrival as a `TeleportEvent` from `from` to `to`; with `pending`, leave it parked
   * (still living at `from`) until {@link ConversationBundles.confirmArrival}.
   */
  arrival?: { from: string; to: string; pending?: boolean | undefined } | undefined;
  /** Most uncompressed bytes of the bundle. */
  maxBytes?: number | undefined;
}

/**
 * What {@link ConversationBundles} uses of its `ConversationManager`: the conversations open
 * now, state and working folders, eviction and opening.
 */
export interface ConversationBundlesHost {
  /** Where conversations live. */
  readonly store: ConversationStore;
  /** The conversations open now, by canonical id. */
  readonly entries: ReadonlyMap<string, OpenConversation>;
  /** Opens under way by canonical id: an import is one, so opens of its id wait for it. */
  readonly opening: Map<string, Promise<OpenConversation>>;
  /** @throws SERVER_SHUTTING_DOWN once the manager is closing. */
  assertRunning(): void;
  /** The persisted state, or `undefined` when there is none. */
  readState(id: string): Promise<ConversationState | undefined>;
  /** Whether anything of the conversation is stored (events or side files without a state). */
  hasTraces(id: string): Promise<boolean>;
  /** Where the conversation works for `requested` (see `resolveWorkingDir`). */
  workingDir(id: string, requested: string | null | undefined): Promise<string>;
  /** Closes the conversation if it is open (and waits for one closing). */
  evict(id: string, reason: CloseReason): Promise<void>;
  /**
   * Opens the stored conversation working in `workingDir`, with `agent` instead of its own, and
   * registers it; with `dropOnFailure` a failed open also deletes what is stored.
   */
  open(
    id: string,
    workingDir: string,
    options: { agent?: AgentInput; dropOnFailure?: boolean },
  ): Promise<OpenConversation>;
  /** @throws CONVERSATION_NOT_FOUND (404). */
  get(id: string): Promise<ConversationRecord>;
  /** Opens the conversation (if needed), runs `work` with it, and lets it go idle again. */
  use<T>(id: string, work: (entry: OpenConversation) => Promise<T> | T): Promise<T>;
}

/**
 * The bundle side of a `ConversationManager`: export, import and the teleport bookkeeping
 * (parking a conversation that left, confirming one that arrived).
 */
export class ConversationBundles {
  readonly #host: ConversationBundlesHost;

  constructor(host: ConversationBundlesHost) {
    this.#host = host;
  }

  /**
   * Streams a conversation bundle (secrets redacted), optionally with the workspace's files.
   *
   * @throws CONVERSATION_NOT_FOUND (404), ConversationRunningError (409) while it runs.
   */
  async exportBundle(
    id: string,
    options: { includeWorkspace: boolean; base?: BundleBase | undefined },
  ): Promise<ExportedBundle> {
    const { canonical, workingDir } = await this.#exportable(id);
    const includeWorkspace = options.includeWorkspace && (await isDirectory(workingDir));
    return exportConversationBundle({
      store: this.#host.store,
      conversationId: canonical,
      ...(includeWorkspace ? { workspaceDir: workingDir } : {}),
      ...(options.base === undefined ? {} : { base: options.base }),
    });
  }

  /**
   * What this server holds of a conversation, for a teleport to send only what it lacks
   * (`readBundleBase`): its files' sizes and SHA-256, and with `includeWorkspace` those of the
   * folder a bundle imported with `workingDir` would write its workspace to. `undefined` when it
   * holds no copy.
   */
  async bundleBase(
    id: string,
    options: { includeWorkspace: boolean; workingDir?: string | undefined },
  ): Promise<BundleBase | undefined> {
    const canonical = canonicalConversationId(id);
    if (canonical === undefined) return undefined;
    const state = await this.#host.readState(canonical).catch(() => undefined);
    if (state === undefined) return undefined;
    const workingDir = await this.#host.workingDir(
      canonical,
      options.workingDir ?? state.workspace.working_dir,
    );
    return readBundleBase({
      store: this.#host.store,
      conversationId: canonical,
      ...(options.includeWorkspace ? { workspaceDir: workingDir } : {}),
    });
  }

  /** A conversation that may be exported now (settled, not running), and its working folder. */
  async #exportable(id: string): Promise<{ canonical: string; workingDir: string }> {
    const canonical = canonicalConversationId(id);
    if (canonical === undefined) throw serverErrors.conversationNotFound(id);
    const open = this.#host.entries.get(canonical);
    if (open !== undefined) {
      await open.settle();
      if (open.conversation.isRunning) throw new ConversationRunningError(canonical, 'export');
      return { canonical, workingDir: open.workspace.workingDir };
    }
    const state = await this.#host.readState(canonical);
    if (state === undefined) throw serverErrors.conversationNotFound(id);
    return {
      canonical,
      workingDir: await this.#host.workingDir(canonical, state.workspace.working_dir),
    };
  }

  /**
   * Imports a bundle, all or nothing. A conversation with the same id is replaced when it is
   * parked here (it teleported away, and is now coming back) or with `overwrite`; otherwise
   * `BundleConflictError` (409). The imported conversation is opened only when it must change
   * (a new agent, an arrival to record, another working folder); otherwise its state stays
   * exactly as exported.
   *
   * @throws BundleFormatError, BundleSecurityError (422), BundleTooLargeError (413),
   *   AgentKindMismatchError, ToolsRemovedError (422; nothing is kept).
   */
  async importBundle(
    input: ImportBundleInput,
  ): Promise<{ record: ConversationRecord; manifest: BundleManifest }> {
    this.#host.assertRunning();
    const limits = input.maxBytes === undefined ? {} : { maxBytes: input.maxBytes };
    const bundle = await openBundle(input.source, limits);
    try {
      await this.#import(bundle, input);
    } finally {
      await bundle.close();
    }
    const { manifest } = bundle;
    return { record: await this.#host.get(manifest.conversation_id), manifest };
  }

  /**
   * The import of an opened bundle. The conversation it replaces stays usable while the bundle
   * arrives (a slow or stalled upload holds nothing); once all of it is checked, opens of the id
   * wait for the import to finish (they then load what it wrote).
   */
  async #import(bundle: OpenedBundle, input: ImportBundleInput): Promise<void> {
    const { manifest } = bundle;
    const id = manifest.conversation_id;
    // Refused at once, before the rest is read; checked again before anything changes.
    const existing = await this.#replaceable(id, input);
    const workingDir = await this.#host.workingDir(
      id,
      input.workingDir ?? existing?.workspace.working_dir,
    );
    const pendingFor = input.arrival?.pending === true ? input.arrival.from : undefined;
    let agent = input.agent;
    let finished!: () => void;
    const guard = new Promise<void>((resolve) => (finished = resolve)).then(
      () => this.#host.entries.get(id) as OpenConversation,
    );
    let guarded = false;
    try {
      await importConversationBundle({
        source: bundle,
        store: this.#host.store,
        // Whether it may replace what is there is decided above and again in beforeCommit.
        overwrite: true,
        // Parked in the same write as the rest: runnable here only once the arrival is confirmed.
        ...(pendingFor === undefined ? {} : { parkedFor: { to: pendingFor } }),
        ...(manifest.includes_workspace ? { workspaceDir: workingDir } : {}),
        // An arrival or a new agent is recorded by opening it right after: its log is not
        // parsed a second time.
        keepCheckedLog: input.arrival !== undefined || input.agent !== undefined,
        beforeCommit: async () => {
          agent = (await input.finishUpload?.()) ?? agent;
          // One at a time per id: an open, a create or another import of it finishes first,
          // and from here on they wait for this one.
          for (;;) {
            const pending = this.#host.opening.get(id);
            if (pending === undefined) break;
            await pending.catch(() => undefined);
          }
          this.#host.opening.set(id, guard);
          guarded = true;
          // What is here now decides (another import may have landed while this one arrived).
          await this.#replaceable(id, input);
          await this.#host.evict(id, 'replaced');
        },
      });
      await this.#afterImport(id, manifest, input, { agent, workingDir });
    } finally {
      finished();
      if (guarded && this.#host.opening.get(id) === guard) this.#host.opening.delete(id);
    }
  }

  /** The state of the copy an import of `id` would replace; `BundleConflictError` unless it may. */
  async #replaceable(id: string, input: ImportBundleInput): Promise<ConversationState | undefined> {
    const existing = await this.#host.readState(id).catch(() => undefined);
    const exists = existing !== undefined || (await this.#host.hasTraces(id));
    if (exists && existing?.teleport == null && input.overwrite !== true) {
      throw new BundleConflictError({
        conversationId: id,
        location: this.#host.store.describe(id),
      });
    }
    return existing;
  }

  /** Opens the imported conversation when it must change, and records an arrival. */
  async #afterImport(
    id: string,
    manifest: BundleManifest,
    input: ImportBundleInput,
    options: { agent: AgentInput | undefined; workingDir: string },
  ): Promise<void> {
    const { agent, workingDir } = options;
    const imported = await this.#host.readState(id);
    const mustOpen =
      agent !== undefined ||
      input.arrival !== undefined ||
      imported?.execution_status === 'running' ||
      workingDir !== (await this.#host.workingDir(id, imported?.workspace.working_dir));
    if (!mustOpen) return;
    const entry = await this.#host.open(id, workingDir, {
      ...(agent === undefined ? {} : { agent }),
      dropOnFailure: true,
    });
    const arrival = input.arrival;
    if (arrival !== undefined && arrival.pending !== true) {
      await entry.conversation.recordArrival({
        from: arrival.from,
        to: arrival.to,
        bundleId: manifest.bundle_id,
      });
    }
  }

  /**
   * Makes a conversation imported pending runnable here and records its arrival from where it
   * was parked for. Idempotent: a conversation already live here is left as it is.
   *
   * @throws CONVERSATION_NOT_FOUND (404), BundleConflictError (409) when it is parked here for
   *   another bundle.
   */
  async confirmArrival(id: string, bundleId: string, here: string): Promise<void> {
    await this.#host.use(id, async (entry) => {
      await entry.settle();
      const parked = entry.conversation.state.teleport;
      if (parked === undefined || parked === null) return;
      if (parked.bundle_id !== bundleId) {
        throw new BundleConflictError({
          conversationId: id,
          location: `a copy parked here for bundle ${parked.bundle_id ?? 'unknown'}`,
        });
      }
      await entry.conversation.recordArrival({ from: parked.to, to: here, bundleId });
    });
  }

  /**
   * Parks the conversation here after it teleported to `to`: it refuses to run or change
   * (`ConversationTeleportedError`, 409 with `to`) until a bundle of it is imported back. With
   * `exported`, refuses (`ConversationChangedSinceExportError`, 409) when events were appended
   * since that export, and the conversation stays here.
   */
  async markTeleported(
    id: string,
    destination: { to: string; bundleId?: string },
    exported?: ExportedExtent,
  ): Promise<void> {
    await this.#host.use(id, async (entry) => {
      await entry.settle();
      await entry.conversation.markTeleported(destination, exported);
    });
  }
}
