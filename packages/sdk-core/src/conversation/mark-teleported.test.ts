import { describe, expect, it } from 'vitest';
import { ConversationChangedSinceExportError } from '../errors/conversation-changed-since-export-error';
import { ConversationTeleportedError } from '../errors/conversation-teleported-error';
import { newEventEnvelope } from '../event/event-base';
import type { Event } from '../event/event-schemas';
import { openInMemory } from './test-support';

const agent = { kind: 'Agent', llm: { model: 'openai/gpt-4.1-mini', api_key: 'k' } };
const destination = { to: 'https://ferry.example.com', bundleId: 'bundle-1' };

function pauseEvent(): Event {
  return { ...newEventEnvelope(), source: 'user', kind: 'PauseEvent' };
}

describe('LocalConversation.markTeleported', () => {
  it('parks the copy when nothing was appended since the export', async () => {
    const conversation = await openInMemory({ agent });
    await conversation.sendMessage('Go to the server.');
    const exported = {
      eventCount: conversation.events.length,
      lastEventId: conversation.events.at(-1)?.id,
    };
    await conversation.markTeleported(destination, exported);
    expect(conversation.state.teleport).toMatchObject({
      to: destination.to,
      bundle_id: 'bundle-1',
    });
    await expect(conversation.sendMessage('too late')).rejects.toBeInstanceOf(
      ConversationTeleportedError,
    );
    await expect(conversation.pause()).rejects.toBeInstanceOf(ConversationTeleportedError);
    expect(conversation.events).toHaveLength(exported.eventCount);
    await conversation.close();
  });

  it('refuses, and stays runnable, when events were appended since the export', async () => {
    const conversation = await openInMemory({ agent });
    await conversation.sendMessage('first');
    const exported = { eventCount: conversation.events.length };
    await conversation.sendMessage('arrived after the export');

    const refusal = conversation.markTeleported(destination, exported);
    await expect(refusal).rejects.toBeInstanceOf(ConversationChangedSinceExportError);
    await expect(refusal).rejects.toMatchObject({
      code: 'BUNDLE_SOURCE_CHANGED',
      actual: { eventCount: exported.eventCount + 1 },
    });
    expect(conversation.state.teleport ?? null).toBeNull();
    await conversation.sendMessage('still here');
    await conversation.close();
  });

  it('sees an append queued before it, and refuses every append queued after it', async () => {
    const conversation = await openInMemory({ agent });
    await conversation.sendMessage('first');
    const count = conversation.events.length;

    // Queued before the parking: it lands first, so the bundle would miss it.
    const before = conversation.appendEvents([pauseEvent()]);
    await expect(
      conversation.markTeleported(destination, { eventCount: count }),
    ).rejects.toBeInstanceOf(ConversationChangedSinceExportError);
    await before;

    // Queued after the parking: refused, nothing lands after it.
    const parking = conversation.markTeleported(destination, { eventCount: count + 1 });
    const after = conversation.appendEvents([pauseEvent()]);
    await parking;
    await expect(after).rejects.toBeInstanceOf(ConversationTeleportedError);
    expect(conversation.events).toHaveLength(count + 1);
    await conversation.close();
  });
});
