import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ConversationChangedSinceExportError } from '../errors/conversation-changed-since-export-error';
import { ConversationTeleportedError } from '../errors/conversation-teleported-error';
import { InvalidOptionError } from '../errors/invalid-option-error';
import { InMemoryFileStore } from '../persistence/in-memory-file-store';
import type { AnyEvent } from '../event/parse-event';
import { newEventEnvelope } from '../event/event-base';
import type { Event } from '../event/event-schemas';
import { LocalConversation } from './local-conversation';
import { openInMemory, testWorkspace } from './test-support';

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

describe('LocalConversation.open with an arrival', () => {
  const hop = { from: 'https://ferry.example.com', to: 'file:///home/me', bundleId: 'bundle-2' };

  it('un-parks the copy and appends its TeleportEvent, told to onEvent, with one state write', async () => {
    const store = new InMemoryFileStore();
    const conversationId = randomUUID();
    const open = (options: { arrival?: typeof hop; onEvent?: (event: AnyEvent) => void }) =>
      LocalConversation.open({
        agent,
        workspace: testWorkspace,
        store,
        conversationId,
        ...options,
      });
    const parked = await open({});
    await parked.sendMessage('Go to the server.');
    await parked.markTeleported(destination);
    const count = parked.events.length;
    await parked.close();

    const told: AnyEvent[] = [];
    const writes = store.stats.writes;
    const arrived = await open({ arrival: hop, onEvent: (event) => told.push(event) });
    // The lock, the appended event and the state: what a resume without an arrival writes,
    // plus the event (recordArrival afterwards would write the state twice).
    expect(store.stats.writes - writes).toBe(3);
    expect(arrived.state.teleport ?? null).toBeNull();
    expect(arrived.events).toHaveLength(count + 1);
    expect(arrived.events.at(-1)).toMatchObject({
      kind: 'TeleportEvent',
      from: hop.from,
      to: hop.to,
      bundle_id: hop.bundleId,
    });
    expect(told.map((event) => event.kind)).toEqual(['TeleportEvent']);
    await arrived.sendMessage('Back home, and runnable.');
    await arrived.close();

    // Persisted: a plain open finds it un-parked, with the event.
    const again = await open({});
    expect(again.state.teleport ?? null).toBeNull();
    expect(again.events.at(count)).toMatchObject({ kind: 'TeleportEvent' });
    await again.close();
  });

  it('refuses an arrival of a conversation the store does not hold, writing nothing', async () => {
    const store = new InMemoryFileStore();
    const opening = LocalConversation.open({
      agent,
      workspace: testWorkspace,
      store,
      arrival: hop,
    });
    await expect(opening).rejects.toBeInstanceOf(InvalidOptionError);
    await expect(opening).rejects.toThrow(/`arrival`.*import its bundle first/);
    expect(await store.list('')).toEqual([]);
  });
});
