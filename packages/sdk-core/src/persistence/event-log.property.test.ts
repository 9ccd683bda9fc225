import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createTemporaryDirectory } from '../testing/index';
import { EventLog } from './event-log';
import type { FileStore } from './file-store';
import { InMemoryFileStore } from './in-memory-file-store';
import { LocalFileStore } from './local-file-store';
import type { StoredEvent } from './stored-event';

type Operation =
  | { type: 'append'; payload: unknown }
  | { type: 'appendMany'; payloads: unknown[] }
  | { type: 'reopen' };

const operations = fc.array(
  fc.oneof(
    fc.record({ type: fc.constant('append' as const), payload: fc.jsonValue() }),
    fc.record({
      type: fc.constant('appendMany' as const),
      payloads: fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 4 }),
    }),
    fc.constant({ type: 'reopen' as const }),
  ),
  { maxLength: 20 },
);

const noWarnings = (message: string) => {
  throw new Error(`unexpected warning: ${message}`);
};

/** Runs the operations against a fresh log in `store`, checking what it reads back after each. */
async function replay(
  store: FileStore,
  steps: Operation[],
  segmentMaxBytes: number,
): Promise<void> {
  const open = () => EventLog.open({ store, segmentMaxBytes, onWarning: noWarnings });
  const expected: StoredEvent[] = [];
  let next = 0;
  const makeEvent = (payload: unknown): StoredEvent => {
    next += 1;
    return {
      id: `event-${next}`,
      kind: 'MessageEvent',
      timestamp: '2025-06-01T00:00:00Z',
      payload,
    };
  };
  // What a JSON round trip gives back (e.g. -0 becomes 0).
  const normalise = (event: StoredEvent) => JSON.parse(JSON.stringify(event)) as StoredEvent;

  let log = await open();
  for (const step of steps) {
    switch (step.type) {
      case 'append': {
        const event = makeEvent(step.payload);
        await log.append(event);
        expected.push(normalise(event));
        break;
      }
      case 'appendMany': {
        const events = step.payloads.map(makeEvent);
        await log.appendMany(events);
        expected.push(...events.map(normalise));
        break;
      }
      case 'reopen':
        await log.close();
        log = await open();
        break;
    }
    expect([...log]).toEqual(expected);
  }
  await log.close();
  const reopened = await open();
  expect([...reopened]).toEqual(expected);
  expect(reopened.length).toBe(expected.length);
  for (const [index, event] of expected.entries()) expect(reopened.indexOf(event.id)).toBe(index);
  let bytes = 0;
  for (const name of reopened.segments) bytes += (await store.size(`events/${name}`)) ?? 0;
  expect(reopened.bytes).toBe(bytes);
}

describe('EventLog (property)', () => {
  it('gives back exactly the appended events, in order, across reopens (memory)', async () => {
    await fc.assert(
      fc.asyncProperty(operations, fc.integer({ min: 64, max: 4096 }), (steps, maxBytes) =>
        replay(new InMemoryFileStore(), steps, maxBytes),
      ),
      { numRuns: 50 },
    );
  });

  it('gives back exactly the appended events, in order, across reopens (local files)', async () => {
    await using directory = await createTemporaryDirectory({ prefix: 'ferry-log-property-' });
    const root = new LocalFileStore({ root: directory.path });
    let run = 0;
    await fc.assert(
      fc.asyncProperty(operations, fc.integer({ min: 64, max: 4096 }), (steps, maxBytes) => {
        run += 1;
        return replay(root.scope(`run-${run}`), steps, maxBytes);
      }),
      { numRuns: 50 },
    );
  });
});
