import { InvalidEventError } from '@ferry/sdk-core';
import { describe, expect, it } from 'vitest';
import { RemoteEventList } from './remote-event-list';

const event = (id: string) => ({
  id,
  kind: 'PauseEvent',
  source: 'user',
  timestamp: '2026-01-31T12:00:00.000Z',
});

describe('RemoteEventList', () => {
  it('keeps each event once, in order, indexable like an array', () => {
    const list = new RemoteEventList();
    expect(list.add(event('a'))).toBe(true);
    expect(list.add(event('b'))).toBe(true);
    expect(list.add(event('a'))).toBe(false);
    const view = list.view;
    expect(view.length).toBe(2);
    expect(view[1]?.id).toBe('b');
    expect(view.at(-1)?.id).toBe('b');
    expect(view.get('a')?.kind).toBe('PauseEvent');
    expect(view.indexOf('b')).toBe(1);
    expect([...view].map((item) => item.id)).toEqual(['a', 'b']);
    expect(view.slice(-1).map((item) => item.id)).toEqual(['b']);
    expect(view.page({ start: 1, limit: 5 }).map((item) => item.id)).toEqual(['b']);
    expect(1 in view).toBe(true);
    expect(2 in view).toBe(false);
    expect(list.lastId).toBe('b');
  });

  it('reports a malformed known event when it is read', () => {
    const list = new RemoteEventList();
    list.add({ id: 'x', kind: 'MessageEvent', timestamp: '2026-01-31T12:00:00Z', source: 'user' });
    expect(() => list.view.at(0)).toThrow(InvalidEventError);
  });
});
