import {
  LocalConversation,
  type AgentInput,
  type ConfirmationPolicyInput,
  type ConversationStore,
  type MessageContent,
  type ToolDefinition,
} from '@ferry/sdk-core';
import { LocalWorkspace, type SandboxOptions } from '@ferry/workspace-local';
import type { FastifyBaseLogger } from 'fastify';
import { initialTitle } from './auto-title';
import { describeError } from './open-conversation';
import { makeFolder } from './uploads-folder';
import { resolveWorkingDir } from './working-dir';

/** What a new conversation starts with (the server's reading of `StartConversationRequest`). */
export interface CreateConversationInput {
  conversationId?: string | null | undefined;
  agent: AgentInput;
  /** The requested working directory; see `resolveWorkingDir` for where it ends up. */
  workingDir?: string | null | undefined;
  maxIterations?: number | undefined;
  stuckDetection?: boolean | undefined;
  confirmationPolicy?: ConfirmationPolicyInput | undefined;
  securityAnalyzer?: { kind: string } | null | undefined;
  secrets?: Record<string, string> | undefined;
  tags?: Record<string, string> | undefined;
  title?: string | null | undefined;
  /** `false`: never generate a title (OpenHands' `autotitle`). */
  autotitle?: boolean | undefined;
  /** The stored LLM profile that writes the title (OpenHands' `title_llm_profile`). */
  titleLlmProfile?: string | null | undefined;
  initialMessage?: { content: MessageContent[]; run: boolean } | null | undefined;
}

/** A conversation opened with its workspace, not yet registered as open. */
export interface OpenedConversation {
  conversation: LocalConversation;
  workspace: LocalWorkspace;
}

/** What a {@link ConversationFactory} opens conversations with. */
export interface ConversationFactoryOptions {
  store: ConversationStore;
  workspaceRoot: string;
  /** `workspaceRoot` with its links resolved. */
  realWorkspaceRoot: string;
  secretKey?: string | undefined;
  tools?: readonly ToolDefinition[] | undefined;
  sandbox?: boolean | SandboxOptions | undefined;
  logger: FastifyBaseLogger;
}

/**
 * Opens and creates a server's `LocalConversation`s, each with the `LocalWorkspace` of its
 * working folder under the workspace root (sandboxed when the server is). A failure closes the
 * workspace again and, for a creation, removes what was written.
 */
export class ConversationFactory {
  readonly #options: ConversationFactoryOptions;

  constructor(options: ConversationFactoryOptions) {
    this.#options = options;
  }

  /** Where the conversation works for `requested` (see `resolveWorkingDir`). */
  workingDir(id: string, requested: string | null | undefined): Promise<string> {
    return resolveWorkingDir({
      workspaceRoot: this.#options.workspaceRoot,
      realWorkspaceRoot: this.#options.realWorkspaceRoot,
      conversationId: id,
      requested,
      refuseRoot: (this.#options.sandbox ?? false) !== false,
    });
  }

  /** A workspace on `workingDir` (sandboxed when the server is). */
  newWorkspace(workingDir: string): LocalWorkspace {
    const sandbox = this.#options.sandbox ?? false;
    return new LocalWorkspace({ workingDir, ...(sandbox === false ? {} : { sandbox }) });
  }

  /**
   * Opens stored conversation `id` in its working folder (`requested`, see `resolveWorkingDir`),
   * with `agent` instead of its own. With `dropOnFailure` a failed open also deletes what is
   * stored (an import that cannot be opened keeps nothing).
   */
  async openStored(
    id: string,
    requested: string | null | undefined,
    { agent, dropOnFailure = false }: { agent?: AgentInput; dropOnFailure?: boolean } = {},
  ): Promise<OpenedConversation> {
    const workspace = await this.#workspace(id, requested);
    try {
      const conversation = await LocalConversation.open({
        workspace,
        store: this.#options.store,
        conversationId: id,
        ...(agent === undefined ? {} : { agent }),
        ...this.#commonOpenOptions(),
      });
      return { conversation, workspace };
    } catch (error) {
      await workspace.close();
      if (dropOnFailure) await this.#options.store.deleteConversation(id).catch(() => undefined);
      throw error;
    }
  }

  /** Creates conversation `id` as `input` says (its initial message sent, not run). */
  async create(id: string, input: CreateConversationInput): Promise<OpenedConversation> {
    const workspace = await this.#workspace(id, input.workingDir);
    // An initial message cut into the title at once, so the new conversation answers with it.
    const title = input.title ?? initialTitle(input);
    let conversation: LocalConversation | undefined;
    try {
      conversation = await LocalConversation.open({
        agent: input.agent,
        workspace,
        store: this.#options.store,
        conversationId: id,
        ...(input.maxIterations === undefined ? {} : { maxIterations: input.maxIterations }),
        ...(input.stuckDetection === undefined ? {} : { stuckDetection: input.stuckDetection }),
        ...(title == null ? {} : { title }),
        ...this.#commonOpenOptions(),
      });
      await conversation.updateState({
        created_at: new Date().toISOString(),
        ...(input.securityAnalyzer == null ? {} : { security_analyzer: input.securityAnalyzer }),
        ...(input.autotitle === false ? { autotitle: false } : {}),
        ...(input.titleLlmProfile == null ? {} : { title_llm_profile: input.titleLlmProfile }),
      });
      if (input.confirmationPolicy !== undefined) {
        await conversation.setConfirmationPolicy(input.confirmationPolicy);
      }
      if (input.tags !== undefined) await conversation.updateMetadata({ tags: input.tags });
      if (input.secrets !== undefined && Object.keys(input.secrets).length > 0) {
        await conversation.setSecrets(input.secrets);
      }
      if (input.initialMessage != null) {
        await conversation.sendMessage({ content: input.initialMessage.content });
      }
      return { conversation, workspace };
    } catch (error) {
      // Cleaning up may fail on the same disk; the caller is told the first failure.
      await conversation?.close().catch(() => undefined);
      await workspace.close();
      if (conversation !== undefined) {
        await this.#options.store
          .deleteConversation(id)
          .catch((cleanupError: unknown) =>
            this.#options.logger.warn(
              { conversation_id: id, err: describeError(cleanupError) },
              'could not remove a conversation whose creation failed',
            ),
          );
      }
      throw error;
    }
  }

  #commonOpenOptions() {
    const { secretKey, tools, logger } = this.#options;
    return {
      onWarning: (message: string) => logger.warn(message),
      ...(secretKey === undefined ? {} : { secretKey }),
      ...(tools === undefined ? {} : { tools }),
    };
  }

  async #workspace(id: string, requested: string | null | undefined): Promise<LocalWorkspace> {
    const workingDir = await this.workingDir(id, requested);
    await makeFolder(workingDir);
    return this.newWorkspace(workingDir);
  }
}
