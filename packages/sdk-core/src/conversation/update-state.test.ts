import { describe, expect, it } from 'vitest';
import { InMemoryFileStore } from '../persistence/in-memory-file-store';
import { openInMemory } from './test-support';

const agent = { llm: { model: 'unused', api_key: 'sk-unused' }, tools: [] };

describe('updateState', () => {
  it('keeps both of two updates made at once, in memory and on disk', async () => {
    const store = new InMemoryFileStore();
    const conversation = await openInMemory({ agent, store });
    // A title written while a message is recorded (its id goes into the state too).
    const [message] = await Promise.all([
      conversation.sendMessage('hello'),
      conversation.updateMetadata({ title: 'Greeting' }),
      conversation.updateMetadata({ tags: { team: 'ferry' } }),
    ]);
    expect(conversation.state).toMatchObject({
      title: 'Greeting',
      tags: { team: 'ferry' },
      last_user_message_id: message.id,
    });
    const id = conversation.id;
    await conversation.close();
    const reopened = await openInMemory({ agent, store, conversationId: id });
    expect(reopened.state).toMatchObject({
      title: 'Greeting',
      tags: { team: 'ferry' },
      last_user_message_id: message.id,
    });
    await reopened.close();
  });
});
