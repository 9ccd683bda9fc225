import { describe, expect, it } from 'vitest';
import { bashEventSearchQuerySchema } from './bash-event';
import type { BashOutput } from './bash-event';
import { BashEventStore } from './bash-event-store';

function output(order: number, stdout: string): BashOutput {
  return {
    kind: 'BashOutput',
    id: `output-${order}`,
    timestamp: new Date(Date.UTC(2030, 0, 1, 0, 0, order)).toISOString(),
    command_id: 'command',
    order,
    exit_code: null,
    stdout,
    stderr: null,
  };
}

const query = (fields: Record<string, string> = {}) => bashEventSearchQuerySchema.parse(fields);

describe('BashEventStore', () => {
  it('drops the oldest events past the text bound but always keeps the newest', () => {
    const store = new BashEventStore({ maxEvents: 100, maxTextLength: 10 });
    store.add(output(0, 'abcd'));
    store.add(output(1, 'efgh'));
    expect(store.size).toBe(2);
    store.add(output(2, 'ijkl'));
    expect(store.search(query()).items.map((event) => event.id)).toEqual(['output-1', 'output-2']);
    expect(store.get('output-0')).toBeUndefined();
    store.add(output(3, 'far more than ten characters'));
    expect(store.search(query()).items.map((event) => event.id)).toEqual(['output-3']);
  });

  it('resumes a page after the events before it were dropped', () => {
    const store = new BashEventStore({ maxEvents: 4, maxTextLength: 1000 });
    for (let order = 0; order < 4; order++) store.add(output(order, 'x'));
    const first = store.search(query({ limit: '2' }));
    expect(first.items.map((event) => event.id)).toEqual(['output-0', 'output-1']);
    for (let order = 4; order < 7; order++) store.add(output(order, 'x'));
    const next = store.search(query({ limit: '2', page_id: first.next_page_id ?? '' }));
    expect(next.items.map((event) => event.id)).toEqual(['output-3', 'output-4']);
  });

  it('compares timestamps without a zone as UTC', () => {
    const store = new BashEventStore({ maxEvents: 10, maxTextLength: 1000 });
    for (let order = 0; order < 3; order++) store.add(output(order, 'x'));
    const page = store.search(
      query({ timestamp__gte: '2030-01-01T00:00:01', timestamp__lt: '2030-01-01T00:00:02Z' }),
    );
    expect(page.items.map((event) => event.id)).toEqual(['output-1']);
  });
});
