import { readdir } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { UnsupportedKindError } from '../errors/unsupported-kind-error';
import { createTemporaryDirectory } from '../testing/temporary-directory';
import { LocalConversation } from './local-conversation';
import { openInMemory, testWorkspace } from './test-support';

const llm = { model: 'openai/gpt-4.1-mini', api_key: 'k' };

describe('agents a conversation cannot run', () => {
  it('refuses to create a conversation with an agent of another kind, writing nothing', async () => {
    await using dir = await createTemporaryDirectory();
    const opening = LocalConversation.open({
      persistenceDir: dir.path,
      workspace: testWorkspace,
      agent: { kind: 'PlannerAgent', llm },
    });
    await expect(opening).rejects.toBeInstanceOf(UnsupportedKindError);
    await expect(opening).rejects.toMatchObject({
      code: 'UNSUPPORTED_KIND',
      message: expect.stringContaining('use "Agent"') as unknown,
    });
    expect(await readdir(dir.path)).toEqual([]);
  });

  it('refuses a condenser it would skip, and takes NoOpCondenser as none', async () => {
    await expect(
      openInMemory({ agent: { kind: 'Agent', llm, condenser: { kind: 'PipelineCondenser' } } }),
    ).rejects.toMatchObject({ code: 'UNSUPPORTED_KIND', document: 'condenser' });

    const conversation = await openInMemory({
      agent: { kind: 'Agent', llm, condenser: { kind: 'NoOpCondenser' } },
    });
    await expect(
      conversation.setAgent({ kind: 'Agent', llm, condenser: { kind: 'Shredder' } }),
    ).rejects.toBeInstanceOf(UnsupportedKindError);
    expect(conversation.agent.condenser).toEqual({ kind: 'NoOpCondenser' });
    await conversation.close();
  });
});
