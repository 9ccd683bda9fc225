import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { AgentInput } from '../agent/agent-schema';
import { AgentRequiredError } from '../errors/agent-required-error';
import { InvalidOptionError } from '../errors/invalid-option-error';
import { LeaseLostError } from '../errors/lease-lost-error';
import { ConversationLockedError } from '../errors/conversation-locked-error';
import { createTemporaryDirectory } from '../testing/temporary-directory';
import { conversationFolderName } from '../store/conversation-id';
import { InMemoryConversationStore } from '../store/in-memory-conversation-store';
import { LocalConversation, type LocalConversationOptions } from './local-conversation';

const workspace = { kind: 'LocalWorkspace', workingDir: '/tmp/project' };
const agent: AgentInput = {
  llm: { model: 'openai/gpt-4.1-mini', api_key: 'sk-open-secret-3333', temperature: 0 },
  tools: [{ name: 'terminal' }],
};

function open(options: Partial<LocalConversationOptions>) {
  return LocalConversation.open({ workspace, onWarning: () => undefined, ...options });
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

/** Every file of a folder with its bytes, to prove nothing changed. */
async function filesOf(dir: string): Promise<Record<string, string>> {
  const files: Record<string, string> = {};
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files[path.slice(dir.length + 1)] = await readFile(path, 'base64');
  }
  return files;
}

const invalidOptions: { name: string; options: Partial<LocalConversationOptions> }[] = [
  { name: 'maxIterations 0', options: { maxIterations: 0 } },
  { name: 'maxIterations -3', options: { maxIterations: -3 } },
  { name: 'maxIterations 1.5', options: { maxIterations: 1.5 } },
  { name: 'maxIterations NaN', options: { maxIterations: Number.NaN } },
  {
    name: 'stuckDetection "yes"',
    options: { stuckDetection: 'yes' as unknown as boolean },
  },
  { name: 'stuckDetection 1', options: { stuckDetection: 1 as unknown as boolean } },
];

describe('LocalConversation.open validation', () => {
  it.each(invalidOptions)(
    'refuses a resume with $name before writing, and the conversation still opens',
    async ({ options }) => {
      await using dir = await createTemporaryDirectory();
      const first = await open({ persistenceDir: dir.path, agent, maxIterations: 7 });
      await first.sendMessage('hello');
      await first.close();
      const before = await filesOf(dir.path);

      const error = await rejection(
        open({ persistenceDir: dir.path, conversationId: first.id, ...options }),
      );
      expect(InvalidOptionError.isInstance(error)).toBe(true);
      expect((error as InvalidOptionError).code).toBe('INVALID_OPTION');
      expect((error as InvalidOptionError).option).toBe(Object.keys(options)[0]);
      expect(await filesOf(dir.path)).toEqual(before);

      const again = await open({ persistenceDir: dir.path, conversationId: first.id });
      expect(again.state.max_iterations).toBe(7);
      expect(again.events).toHaveLength(1);
      await again.close();
    },
  );

  it.each(invalidOptions)('refuses a create with $name, leaving no folder', async ({ options }) => {
    await using dir = await createTemporaryDirectory();
    const error = await rejection(open({ persistenceDir: dir.path, agent, ...options }));
    expect(InvalidOptionError.isInstance(error)).toBe(true);
    expect(await readdir(dir.path)).toEqual([]);
  });

  it('leaves no folder behind when a new conversation has no agent', async () => {
    await using dir = await createTemporaryDirectory();
    const conversationId = crypto.randomUUID();
    const error = await rejection(open({ persistenceDir: dir.path, conversationId }));
    expect(AgentRequiredError.isInstance(error)).toBe(true);
    expect(await readdir(dir.path)).toEqual([]);
    // The id is still free: a create with an agent works.
    const created = await open({ persistenceDir: dir.path, conversationId, agent });
    expect(await readdir(dir.path)).toEqual([conversationFolderName(conversationId)]);
    await created.close();
  });

  it('keeps a store without a trace of a refused create', async () => {
    const store = new InMemoryConversationStore();
    const error = await rejection(open({ store }));
    expect(AgentRequiredError.isInstance(error)).toBe(true);
    expect(await store.list()).toEqual([]);
  });
});

describe('LocalConversation on a ConversationStore', () => {
  it('creates, resumes with a changed agent and forks in an in-memory store', async () => {
    const store = new InMemoryConversationStore();
    const first = await open({ store, agent, title: 'in memory' });
    await first.sendMessage('hello');
    expect(first.persistenceDir).toBe(`memory:/${conversationFolderName(first.id)}`);
    await first.close();
    expect(await store.list()).toEqual([first.id]);
    // Secrets are redacted before they reach the store.
    expect(JSON.stringify(await store.readState(first.id))).not.toContain('sk-open-secret-3333');

    const changed = { ...agent, llm: { ...agent.llm, model: 'openai/gpt-4.1' } };
    const second = await open({ store, conversationId: first.id, agent: changed });
    expect(second.openReport.mode).toBe('resumed');
    expect(second.openReport.agentChanges.map((change) => change.path)).toContain('llm.model');
    const fork = await second.fork({ title: 'fork' });
    expect(fork.events.raw()).toEqual(second.events.raw());
    await fork.close();
    await second.close();
    expect(await store.list()).toEqual([first.id, fork.id].sort());
    const events = await store.readEvents(first.id);
    expect(events.map((event) => event.kind)).toEqual([
      'MessageEvent',
      'ConversationStateUpdateEvent',
    ]);
  });

  it('renews a lease with a TTL while open, and refuses to write once taken over', async () => {
    const store = new InMemoryConversationStore();
    const conversation = await open({ store, agent, leaseTtlMs: 300 });
    const peer = new InMemoryConversationStore({ sharedWith: store });
    // Renewed every 100 ms: well past the TTL, nobody else can take it.
    const deadline = Date.now() + 900;
    while (Date.now() < deadline) {
      expect(
        ConversationLockedError.isInstance(await rejection(peer.acquireLease(conversation.id))),
      ).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    // A takeover (here: the lease released behind its back) fences the conversation out.
    await store.releaseLease(conversation.lease);
    const taken = await peer.acquireLease(conversation.id);
    const error = await rejection(conversation.sendMessage('too late'));
    expect(LeaseLostError.isInstance(error)).toBe(true);
    expect(await store.eventCount(conversation.id)).toBe(0);
    await peer.releaseLease(taken);
    await conversation.close();
  });
});
