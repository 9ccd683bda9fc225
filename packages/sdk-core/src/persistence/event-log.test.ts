import { appendFile, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { CorruptEventLogError, DuplicateEventIdError, FerryError } from '../errors/index';
import { createTemporaryDirectory } from '../testing/index';
import { EventLog } from './event-log';
import type { DurabilityOptions, FileStore } from './file-store';
import { InMemoryFileStore } from './in-memory-file-store';
import { LocalFileStore } from './local-file-store';
import type { StoredEvent } from './stored-event';

let counter = 0;

function makeEvent(fields: Record<string, unknown> = {}): StoredEvent {
  counter += 1;
  return {
    id: `event-${counter}`,
    kind: 'MessageEvent',
    timestamp: '2025-06-01T12:00:00.000Z',
    source: 'user',
    llm_message: { role: 'user', content: [{ type: 'text', text: `message ${counter}` }] },
    ...fields,
  };
}

function line(event: StoredEvent): string {
  return `${JSON.stringify(event)}\n`;
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the promise to reject');
}

const noWarnings = (message: string) => {
  throw new Error(`unexpected warning: ${message}`);
};

const implementations: {
  name: string;
  create: () => Promise<{ store: FileStore } & AsyncDisposable>;
}[] = [
  {
    name: 'LocalFileStore',
    create: async () => {
      const directory = await createTemporaryDirectory({ prefix: 'ferry-log-' });
      return {
        store: new LocalFileStore({ root: directory.path }),
        [Symbol.asyncDispose]: () => directory.remove(),
      };
    },
  },
  {
    name: 'InMemoryFileStore',
    create: () =>
      Promise.resolve({ store: new InMemoryFileStore(), [Symbol.asyncDispose]: async () => {} }),
  },
];

describe.each(implementations)('EventLog on $name', ({ create }) => {
  it('opens a missing folder as an empty log', async () => {
    await using subject = await create();
    const log = await EventLog.open({ store: subject.store, onWarning: noWarnings });
    expect(log.length).toBe(0);
    expect(log.last()).toBeUndefined();
    expect([...log]).toEqual([]);
    expect(log.segments).toEqual([]);
    expect(log.bytes).toBe(0);
  });

  it('gives back appended events in order after a reopen', async () => {
    await using subject = await create();
    const { store } = subject;
    const events = [makeEvent(), makeEvent(), makeEvent(), makeEvent()];
    const log = await EventLog.open({ store, onWarning: noWarnings });
    await log.append(events[0]!);
    await log.appendMany(events.slice(1));
    await log.close();

    const reopened = await EventLog.open({ store, onWarning: noWarnings });
    expect([...reopened]).toEqual(events);
    expect(reopened.segments).toEqual(['segment-000001.jsonl']);
    expect(reopened.bytes).toBe(events.map(line).join('').length);
    expect(await store.readText('events/segment-000001.jsonl')).toBe(events.map(line).join(''));
  });

  it('indexes events by position and id', async () => {
    await using subject = await create();
    const log = await EventLog.open({ store: subject.store, onWarning: noWarnings });
    const events = [makeEvent(), makeEvent(), makeEvent()];
    await log.appendMany(events);
    const [first, second, third] = events;
    expect(log.length).toBe(3);
    expect(log.at(0)).toEqual(first);
    expect(log.at(-1)).toEqual(third);
    expect(log.at(3)).toBeUndefined();
    expect(log.last()).toEqual(third);
    expect(log.get(second!.id)).toEqual(second);
    expect(log.get('nope')).toBeUndefined();
    expect(log.indexOf(third!.id)).toBe(2);
    expect(log.indexOf('nope')).toBe(-1);
    expect(log.has(first!.id)).toBe(true);
    expect(log.has('nope')).toBe(false);
    expect(log.page({ start: 1, limit: 1 })).toEqual([second]);
    expect(log.page({ limit: 2 })).toEqual([first, second]);
    expect(log.page({ start: 2 })).toEqual([third]);
    expect(log.slice(-2)).toEqual([second, third]);
  });

  it('starts a new segment when the current one would pass segmentMaxBytes', async () => {
    await using subject = await create();
    const { store } = subject;
    // Lines of equal length: two fit in a segment.
    const events = Array.from({ length: 5 }, (_, index) =>
      makeEvent({ id: `rollover-${index}`, llm_message: null, padding: 'x'.repeat(100) }),
    );
    const size = line(events[0]!).length;
    const log = await EventLog.open({ store, segmentMaxBytes: size * 2, onWarning: noWarnings });
    for (const event of events) await log.append(event);
    expect(log.segments).toEqual([
      'segment-000001.jsonl',
      'segment-000002.jsonl',
      'segment-000003.jsonl',
    ]);
    expect(await store.readText('events/segment-000002.jsonl')).toBe(
      line(events[2]!) + line(events[3]!),
    );
    // A batch larger than the bound still goes in one write, into a fresh segment.
    const batch = [makeEvent(), makeEvent(), makeEvent()];
    await log.appendMany(batch);
    expect(log.segments.at(-1)).toBe('segment-000004.jsonl');

    const reopened = await EventLog.open({
      store,
      segmentMaxBytes: size * 2,
      onWarning: noWarnings,
    });
    expect([...reopened]).toEqual([...events, ...batch]);
    expect(reopened.bytes).toBe(log.bytes);
    await reopened.append(makeEvent());
    expect(reopened.segments.at(-1)).toBe('segment-000005.jsonl');
  });

  it('uses one write and at most one fsync per call', async () => {
    await using subject = await create();
    const { store } = subject;
    const log = await EventLog.open({ store, onWarning: noWarnings });
    await log.append(makeEvent());
    const before = { ...store.stats };
    await log.appendMany([makeEvent(), makeEvent(), makeEvent()]);
    await log.append(makeEvent());
    expect(store.stats.writes - before.writes).toBe(2);
    expect(store.stats.fsyncs - before.fsyncs).toBe(2);

    const unsynced = await EventLog.open({ store, fsync: false, onWarning: noWarnings });
    const fsyncs = store.stats.fsyncs;
    await unsynced.append(makeEvent());
    expect(store.stats.fsyncs).toBe(fsyncs);
  });

  it('keeps the order of appends that were not awaited one by one', async () => {
    await using subject = await create();
    const { store } = subject;
    const log = await EventLog.open({ store, onWarning: noWarnings });
    const events = Array.from({ length: 20 }, () => makeEvent());
    await Promise.all(
      events.map((event, index) => (index % 3 === 0 ? log.appendMany([event]) : log.append(event))),
    );
    expect([...log]).toEqual(events);
    expect([...(await EventLog.open({ store, onWarning: noWarnings }))]).toEqual(events);
  });

  it('refuses duplicate ids and leaves the log unchanged', async () => {
    await using subject = await create();
    const { store } = subject;
    const log = await EventLog.open({ store, onWarning: noWarnings });
    const event = makeEvent();
    await log.append(event);
    const before = await store.readText('events/segment-000001.jsonl');

    const again = await rejection(log.append({ ...event, kind: 'PauseEvent' }));
    expect(DuplicateEventIdError.isInstance(again)).toBe(true);
    expect((again as DuplicateEventIdError).id).toBe(event.id);
    const fresh = makeEvent();
    const twiceInBatch = await rejection(log.appendMany([fresh, fresh]));
    expect(DuplicateEventIdError.isInstance(twiceInBatch)).toBe(true);

    expect(log.length).toBe(1);
    expect(log.has(fresh.id)).toBe(false);
    expect(await store.readText('events/segment-000001.jsonl')).toBe(before);
  });

  it('refuses events without a valid envelope', async () => {
    await using subject = await create();
    const log = await EventLog.open({ store: subject.store, onWarning: noWarnings });
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    const bad: unknown[] = [
      { ...makeEvent(), id: '' },
      { ...makeEvent(), kind: 3 },
      { id: 'x', kind: 'MessageEvent' },
      { ...makeEvent(), cycle },
      undefined,
    ];
    for (const event of bad) {
      const error = await rejection(log.append(event as StoredEvent));
      expect(FerryError.isInstance(error) && error.code).toBe('INVALID_EVENT_ENVELOPE');
    }
    expect(log.length).toBe(0);
    expect(await subject.store.exists('events')).toBe(false);
  });

  it('stores a JSON copy, so later changes to the caller object do not reach it', async () => {
    await using subject = await create();
    const log = await EventLog.open({ store: subject.store, onWarning: noWarnings });
    const event = makeEvent({ note: 'before', gone: undefined });
    const appending = log.append(event);
    event.note = 'after';
    await appending;
    expect(log.get(event.id)?.note).toBe('before');
    expect(log.get(event.id)).not.toHaveProperty('gone');
  });

  it('refuses appends after close, and stays readable', async () => {
    await using subject = await create();
    const log = await EventLog.open({ store: subject.store, onWarning: noWarnings });
    const event = makeEvent();
    await log.append(event);
    await log.close();
    const error = await rejection(log.append(makeEvent()));
    expect(FerryError.isInstance(error) && error.code).toBe('EVENT_LOG_CLOSED');
    expect(log.at(0)).toEqual(event);
  });

  it('opens a log in another folder and ignores files that are not segments', async () => {
    await using subject = await create();
    const { store } = subject;
    const event = makeEvent();
    await store.append('history/segment-000001.jsonl', line(event));
    await store.writeAtomic('history/notes.txt', 'not a segment');
    await store.writeAtomic('history/segment-1.jsonl', 'not canonical');
    const log = await EventLog.open({ store, dir: 'history', onWarning: noWarnings });
    expect([...log]).toEqual([event]);
    expect(log.dir).toBe('history');
  });
});

describe('EventLog recovery and corruption (local files)', () => {
  it('cuts off a torn last line with a warning, and appends after it', async () => {
    await using directory = await createTemporaryDirectory();
    const store = new LocalFileStore({ root: directory.path });
    const events = [makeEvent(), makeEvent()];
    const log = await EventLog.open({ store, onWarning: noWarnings });
    await log.appendMany(events);
    const file = join(directory.path, 'events', 'segment-000001.jsonl');
    const good = await readFile(file);
    await appendFile(file, line(makeEvent()).slice(0, 40));

    const onWarning = vi.fn();
    const reopened = await EventLog.open({ store, onWarning });
    expect(onWarning).toHaveBeenCalledOnce();
    expect(onWarning.mock.calls[0]?.[0]).toContain(`${file}, line 3`);
    expect([...reopened]).toEqual(events);
    expect(await readFile(file)).toEqual(good);

    const next = makeEvent();
    await reopened.append(next);
    expect([...(await EventLog.open({ store, onWarning: noWarnings }))]).toEqual([...events, next]);
  });

  it('cuts off an unparsable last line even when it ends with a newline', async () => {
    await using directory = await createTemporaryDirectory();
    const store = new LocalFileStore({ root: directory.path });
    const event = makeEvent();
    await store.append('events/segment-000001.jsonl', `${line(event)}\0\0\0\n`);
    const onWarning = vi.fn();
    const log = await EventLog.open({ store, onWarning });
    expect(onWarning).toHaveBeenCalledOnce();
    expect([...log]).toEqual([event]);
    expect(await store.readText('events/segment-000001.jsonl')).toBe(line(event));
  });

  it('keeps a valid last event that lacks its newline, and adds the newline on append', async () => {
    await using directory = await createTemporaryDirectory();
    const store = new LocalFileStore({ root: directory.path });
    const first = makeEvent();
    const second = makeEvent();
    await store.append('events/segment-000001.jsonl', JSON.stringify(first));
    const log = await EventLog.open({ store, onWarning: noWarnings });
    expect([...log]).toEqual([first]);
    await log.append(second);
    expect(await store.readText('events/segment-000001.jsonl')).toBe(line(first) + line(second));
    expect(log.bytes).toBe((await store.size('events/segment-000001.jsonl')) ?? -1);
  });

  it.each([
    { name: 'invalid JSON', bad: '{"id": "broken",', reason: /invalid JSON/ },
    { name: 'an empty line', bad: '', reason: /empty line/ },
    {
      name: 'a missing envelope field',
      bad: '{"id":"x","kind":"MessageEvent"}',
      reason: /timestamp/,
    },
    { name: 'a JSON value that is no object', bad: '[1,2]', reason: /not a JSON object/ },
  ])(
    'throws CorruptEventLogError for $name in the middle, changing nothing',
    async ({ bad, reason }) => {
      await using directory = await createTemporaryDirectory();
      const store = new LocalFileStore({ root: directory.path });
      const file = join(directory.path, 'events', 'segment-000001.jsonl');
      await store.append(
        'events/segment-000001.jsonl',
        `${line(makeEvent())}${bad}\n${line(makeEvent())}${line(makeEvent()).slice(0, 20)}`,
      );
      const before = await readFile(file);
      const onWarning = vi.fn();
      const error = await rejection(EventLog.open({ store, onWarning }));
      expect(CorruptEventLogError.isInstance(error)).toBe(true);
      const corrupt = error as CorruptEventLogError;
      expect(corrupt.file).toBe(file);
      expect(corrupt.line).toBe(2);
      expect(corrupt.reason).toMatch(reason);
      expect(corrupt.message).toContain(file);
      expect(await readFile(file)).toEqual(before);
      expect(onWarning).not.toHaveBeenCalled();
    },
  );

  it('treats a bad last line of an earlier segment as corruption, not a torn line', async () => {
    await using directory = await createTemporaryDirectory();
    const store = new LocalFileStore({ root: directory.path });
    await store.append('events/segment-000001.jsonl', `${line(makeEvent())}{"id":`);
    await store.append('events/segment-000002.jsonl', `${line(makeEvent())}{"id":`);
    const before = await readFile(join(directory.path, 'events', 'segment-000002.jsonl'));
    const error = await rejection(EventLog.open({ store, onWarning: noWarnings }));
    expect(CorruptEventLogError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({
      file: join(directory.path, 'events', 'segment-000001.jsonl'),
      line: 2,
    });
    expect(await readFile(join(directory.path, 'events', 'segment-000002.jsonl'))).toEqual(before);
  });

  it('names both places of a duplicate id across segments', async () => {
    await using directory = await createTemporaryDirectory();
    const store = new LocalFileStore({ root: directory.path });
    const event = makeEvent();
    await store.append('events/segment-000001.jsonl', line(makeEvent()) + line(event));
    await store.append('events/segment-000002.jsonl', line(makeEvent()) + line(event));
    const error = await rejection(EventLog.open({ store, onWarning: noWarnings }));
    expect(error).toMatchObject({
      file: join(directory.path, 'events', 'segment-000002.jsonl'),
      line: 2,
    });
    expect((error as CorruptEventLogError).reason).toContain(
      `${join(directory.path, 'events', 'segment-000001.jsonl')} line 2`,
    );
  });

  it('reads a log written by hand with multi-byte text', async () => {
    await using directory = await createTemporaryDirectory();
    const events = [makeEvent({ text: 'héllo ✓ 😀' }), makeEvent({ text: '\u2028 and \n' })];
    await writeFile(join(directory.path, 'segment-000001.jsonl'), events.map(line).join(''));
    const log = await EventLog.open({
      store: new LocalFileStore({ root: directory.path }),
      dir: '',
      onWarning: noWarnings,
    });
    expect([...log]).toEqual(events);
  });
});

/** A memory store whose next append writes only part of its data, then fails. */
class FailingStore extends InMemoryFileStore {
  failNextAppend: ((data: Uint8Array) => number) | undefined;

  override async append(
    path: string,
    data: string | Uint8Array,
    options?: DurabilityOptions,
  ): Promise<void> {
    const keep = this.failNextAppend;
    if (keep === undefined) return super.append(path, data, options);
    this.failNextAppend = undefined;
    const bytes = typeof data === 'string' ? Buffer.from(data) : data;
    await super.append(path, bytes.subarray(0, keep(bytes)), options);
    throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
  }
}

describe('EventLog write failures', () => {
  it.each([
    { name: 'half a line', keep: (data: Uint8Array) => Math.floor(data.length / 2) },
    { name: 'a whole line of the batch', keep: (data: Uint8Array) => data.indexOf(0x0a) + 1 },
    { name: 'nothing', keep: () => 0 },
  ])('leaves the index unchanged and cuts off $name before the next append', async ({ keep }) => {
    const store = new FailingStore();
    const log = await EventLog.open({ store, onWarning: noWarnings });
    const kept = makeEvent();
    await log.append(kept);

    store.failNextAppend = keep;
    const lost = [makeEvent(), makeEvent()];
    const error = await rejection(log.appendMany(lost));
    expect(FerryError.isInstance(error) && error.code).toBe('EVENT_LOG_WRITE_FAILED');
    expect((error as Error).cause).toMatchObject({ code: 'ENOSPC' });
    expect((error as Error).message).toContain('memory:/events/segment-000001.jsonl');
    expect([...log]).toEqual([kept]);
    expect(log.has(lost[0]!.id)).toBe(false);

    const next = makeEvent();
    await log.append(next);
    expect([...log]).toEqual([kept, next]);
    expect([...(await EventLog.open({ store, onWarning: noWarnings }))]).toEqual([kept, next]);
  });

  it('cuts off what a failed append left when the log is closed', async () => {
    const store = new FailingStore();
    const log = await EventLog.open({ store, onWarning: noWarnings });
    const kept = makeEvent();
    await log.append(kept);
    store.failNextAppend = (data) => data.indexOf(0x0a) + 1;
    await rejection(log.appendMany([makeEvent(), makeEvent()]));
    await log.close();
    expect([...(await EventLog.open({ store, onWarning: noWarnings }))]).toEqual([kept]);
  });

  it('recovers when the append that failed was starting a new segment', async () => {
    const store = new FailingStore();
    const first = makeEvent({ padding: 'x'.repeat(200) });
    const log = await EventLog.open({ store, segmentMaxBytes: 300, onWarning: noWarnings });
    await log.append(first);
    store.failNextAppend = (data) => Math.floor(data.length / 2);
    await rejection(log.append(makeEvent({ padding: 'y'.repeat(200) })));
    expect(log.segments).toEqual(['segment-000001.jsonl']);
    const second = makeEvent({ padding: 'z'.repeat(200) });
    await log.append(second);
    expect(log.segments).toEqual(['segment-000001.jsonl', 'segment-000002.jsonl']);
    const reopened = await EventLog.open({ store, segmentMaxBytes: 300, onWarning: noWarnings });
    expect([...reopened]).toEqual([first, second]);
  });

  it('keeps later appends working after a failed one', async () => {
    const store = new FailingStore();
    const log = await EventLog.open({ store, onWarning: noWarnings });
    store.failNextAppend = () => 3;
    const [lost, next] = [makeEvent(), makeEvent()];
    const outcomes = await Promise.allSettled([log.append(lost), log.append(next)]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['rejected', 'fulfilled']);
    expect([...(await EventLog.open({ store, onWarning: noWarnings }))]).toEqual([next]);
  });
});

describe('EventLog opened lazily from its index', () => {
  it('reads only what the index does not cover, and older events on demand', async () => {
    const store = new InMemoryFileStore();
    const events = Array.from({ length: 20 }, () => makeEvent());
    const log = await EventLog.open({ store, onWarning: noWarnings });
    await log.appendMany(events.slice(0, 15));
    await log.writeIndex();
    await log.appendMany(events.slice(15));
    await log.close();

    const lazy = await EventLog.open({ store, lazy: true, onWarning: noWarnings });
    expect(lazy.length).toBe(20);
    expect(lazy.loadedFrom).toBe(15);
    expect(await lazy.read(3, 6)).toEqual(events.slice(3, 6));
    expect(lazy.loadedFrom).toBe(15);
    // An id from the history not in memory is still refused.
    const error = await rejection(lazy.append(events[2] as StoredEvent));
    expect(DuplicateEventIdError.isInstance(error)).toBe(true);
    // The synchronous accessors read the history in when first asked.
    expect(lazy.at(0)).toEqual(events[0]);
    expect(lazy.loadedFrom).toBe(0);
    expect([...lazy]).toEqual(events);
  });

  it('scans everything when the index no longer matches the segments', async () => {
    const store = new InMemoryFileStore();
    const events = Array.from({ length: 5 }, () => makeEvent());
    const log = await EventLog.open({ store, onWarning: noWarnings });
    await log.appendMany(events);
    await log.writeIndex();
    await log.close();
    await store.truncate('events/segment-000001.jsonl', line(events[0] as StoredEvent).length);
    const lazy = await EventLog.open({ store, lazy: true, onWarning: noWarnings });
    expect(lazy.loadedFrom).toBe(0);
    expect(lazy.slice()).toEqual(events.slice(0, 1));
  });
});
