import type { StoredEvent } from '@ferry/sdk-core';
import { openHandsModelProblems } from '@ferry/sdk-core/testing';
import { describe, expect, it } from 'vitest';
import { viewEvent } from './event-view';

describe('viewEvent', () => {
  it("serves Ferry's TeleportEvent to OpenHands clients as a state update, and whole to Ferry's", () => {
    const teleport: StoredEvent = {
      id: 'c5a1c7a6-4a0e-4d8e-9d51-9f0c1b5e1a01',
      timestamp: '2026-12-05T08:00:00.000Z',
      source: 'environment',
      kind: 'TeleportEvent',
      from: 'http://a.example',
      to: 'http://b.example',
      bundle_id: 'bundle-1',
    };
    const served = viewEvent(teleport, 'openhands');
    expect(served).toMatchObject({
      id: teleport.id,
      kind: 'ConversationStateUpdateEvent',
      key: 'ferry_teleport',
      value: { from: 'http://a.example', to: 'http://b.example', bundle_id: 'bundle-1' },
    });
    expect(openHandsModelProblems(served)).toEqual([]);
    expect(viewEvent(teleport, 'full')).toBe(teleport);
  });
});
