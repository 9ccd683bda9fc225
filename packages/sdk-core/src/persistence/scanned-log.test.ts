import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { CorruptEventLogError } from '../errors/index';
import { createTemporaryDirectory } from '../testing/index';
import { EventLog } from './event-log';
import { SegmentScanner, scanSegment } from './event-log-segment';
import { LocalFileStore } from './local-file-store';
import { ScannedLogBuilder } from './scanned-log';
import type { StoredEvent } from './stored-event';

function event(index: number): StoredEvent {
  return {
    id: `event-${index}`,
    kind: 'MessageEvent',
    timestamp: '2025-06-01T12:00:00.000Z',
    source: 'user',
    llm_message: {
      role: 'user',
      content: [{ type: 'text', text: `message ${index} ${'é'.repeat(index % 7)}` }],
    },
  };
}

function segmentBytes(from: number, count: number): Buffer {
  let text = '';
  for (let index = from; index < from + count; index += 1)
    text += `${JSON.stringify(event(index))}\n`;
  return Buffer.from(text);
}

/** `bytes` cut at `cuts` (byte positions, anywhere: inside lines and characters too). */
function pieces(bytes: Buffer, cuts: number[]): Buffer[] {
  const points = [
    0,
    ...cuts.filter((cut) => cut > 0 && cut < bytes.length).sort((a, b) => a - b),
    bytes.length,
  ];
  return points.slice(1).map((end, index) => bytes.subarray(points[index], end));
}

function scanWhole(bytes: Buffer) {
  const events: StoredEvent[] = [];
  const offsets: number[] = [];
  const scan = scanSegment({
    bytes,
    file: 'segment',
    allowTornLastLine: false,
    events,
    ids: new Map(),
    locate: (index) => `event ${index + 1}`,
    offsets,
  });
  return { events, offsets, scan };
}

function scanPieces(parts: Buffer[]) {
  const events: StoredEvent[] = [];
  const offsets: number[] = [];
  const scanner = new SegmentScanner({
    file: 'segment',
    events,
    ids: new Map(),
    locate: (index) => `event ${index + 1}`,
    offsets,
  });
  for (const part of parts) scanner.push(part);
  return { events, offsets, scan: scanner.end() };
}

function errorOf(work: () => unknown): unknown {
  try {
    work();
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('SegmentScanner', () => {
  it('finds what scanSegment finds, however the segment is cut into pieces', () => {
    const bytes = segmentBytes(0, 40);
    const whole = scanWhole(bytes);
    let seed = 7;
    for (let round = 0; round < 25; round += 1) {
      const cuts = Array.from({ length: round % 6 }, () => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        return seed % bytes.length;
      });
      const parts = pieces(bytes, [...cuts, round]);
      expect(scanPieces(parts)).toEqual(whole);
    }
    // A last line without its newline is a whole event, as in a log.
    const unterminated = bytes.subarray(0, bytes.length - 1);
    expect(scanPieces(pieces(unterminated, [100, 2000]))).toEqual(scanWhole(unterminated));
    expect(scanPieces(pieces(unterminated, [])).scan.unterminated).toBe(true);
  });

  it('reports a bad line with the line number scanSegment gives, wherever the cut falls', () => {
    const good = segmentBytes(0, 10);
    const bad = Buffer.concat([good, Buffer.from('{"id": "x", "kind": \n'), segmentBytes(10, 3)]);
    const expected = errorOf(() => scanWhole(bad));
    expect(expected).toBeInstanceOf(CorruptEventLogError);
    expect(String(expected)).toContain('line 11');
    for (const cut of [1, good.length - 3, good.length, good.length + 5, bad.length - 2]) {
      expect(errorOf(() => scanPieces(pieces(bad, [cut])))).toEqual(expected);
    }
    // A torn (cut off) last line is no event: refused, never skipped.
    const torn = bad.subarray(0, good.length + 8);
    expect(errorOf(() => scanPieces(pieces(torn, [good.length + 2])))).toBeInstanceOf(
      CorruptEventLogError,
    );
  });
});

describe('EventLog.open with the scan of an import', () => {
  async function writtenLog(root: string, options: { keepEvents?: boolean } = {}) {
    const store = new LocalFileStore({ root });
    const first = segmentBytes(0, 30);
    const second = segmentBytes(30, 20);
    await store.writeAtomic('events/segment-000001.jsonl', first);
    await store.writeAtomic('events/segment-000002.jsonl', second);
    const builder = new ScannedLogBuilder(options);
    for (const [name, bytes] of [
      ['segment-000001.jsonl', first],
      ['segment-000002.jsonl', second],
    ] as const) {
      const segment = builder.segment(name, `events/${name}`);
      for (const part of pieces(bytes, [333, 1500])) segment.push(part);
      segment.end(createHash('sha256').update(bytes).digest('hex'));
    }
    return { store, scanned: builder.result() };
  }

  it('adopts it while the segments are those it was made from: the same log as a full read', async () => {
    await using dir = await createTemporaryDirectory();
    const { store, scanned } = await writtenLog(dir.path);
    expect(scanned).toBeDefined();
    const adopted = await EventLog.open({ store, scanned, fsync: false });
    const read = await EventLog.open({ store, fsync: false });
    expect(adopted.length).toBe(50);
    expect(adopted.slice()).toEqual(read.slice());
    expect(adopted.segments).toEqual(read.segments);
    expect(adopted.bytes).toBe(read.bytes);
    // It goes on like any log: an append lands after them, a repeated id is refused.
    await adopted.append(event(50));
    await expect(adopted.append(event(3))).rejects.toThrow(/event-3/);
    const reopened = await EventLog.open({ store, fsync: false });
    expect(reopened.slice().map((stored) => stored.id)).toEqual(
      Array.from({ length: 51 }, (_, index) => `event-${index}`),
    );
  });

  it('adopts a scan that kept no events as an index: events read when asked, duplicates still refused', async () => {
    await using dir = await createTemporaryDirectory();
    const { store, scanned } = await writtenLog(dir.path, { keepEvents: false });
    expect(scanned?.events).toBeUndefined();
    expect(scanned?.count).toBe(50);
    const adopted = await EventLog.open({ store, scanned, fsync: false });
    expect(adopted.length).toBe(50);
    expect(adopted.loadedFrom).toBe(50);
    const read = await EventLog.open({ store, fsync: false });
    expect(await adopted.read(10, 12)).toEqual(read.slice(10, 12));
    expect(adopted.indexOf('event-42')).toBe(42);
    await adopted.append(event(50));
    await expect(adopted.append(event(7))).rejects.toThrow(/event-7/);
    const reopened = await EventLog.open({ store, fsync: false });
    expect(reopened.slice()).toEqual([...read.slice(), event(50)]);
  });

  it('reads the segments instead when one changed since, even to bytes of the same size', async () => {
    await using dir = await createTemporaryDirectory();
    const { store, scanned } = await writtenLog(dir.path);
    // Same size, a broken line: a log that trusted its size would miss it.
    const path = join(dir.path, 'events/segment-000002.jsonl');
    const bytes = segmentBytes(30, 20);
    bytes.write('{', 0);
    bytes.write('#', 1);
    await writeFile(path, bytes);
    await expect(EventLog.open({ store, scanned, fsync: false })).rejects.toThrow(
      CorruptEventLogError,
    );
  });

  it('does not read segments whose files are unchanged since written; a rewritten one is hashed', async () => {
    await using dir = await createTemporaryDirectory();
    const { store, scanned } = await writtenLog(dir.path);
    if (scanned === undefined) throw new Error('expected a scan');
    const versions = async () =>
      Promise.all(scanned.segments.map((segment) => store.version(`events/${segment.name}`)));
    scanned.versions = await versions();
    const reads = vi.spyOn(store, 'read');
    const adopted = await EventLog.open({ store, scanned, fsync: false });
    expect(adopted.length).toBe(50);
    expect(reads.mock.calls.map(([path]) => path)).not.toContain('events/segment-000001.jsonl');
    expect(reads.mock.calls.map(([path]) => path)).not.toContain('events/segment-000002.jsonl');

    // The same bytes written again: another version, so it is read and hashed (and still fits).
    await writeFile(join(dir.path, 'events/segment-000002.jsonl'), segmentBytes(30, 20));
    reads.mockClear();
    const again = await EventLog.open({ store, scanned, fsync: false });
    expect(again.slice()).toEqual(adopted.slice());
    expect(reads.mock.calls.map(([path]) => path)).toEqual(['events/segment-000002.jsonl']);
  });

  it('is not made from segments that came out of log order', () => {
    const builder = new ScannedLogBuilder();
    for (const name of ['segment-000002.jsonl', 'segment-000001.jsonl']) {
      const segment = builder.segment(name, `events/${name}`);
      segment.push(segmentBytes(name.includes('2') ? 0 : 5, 5));
      segment.end('');
    }
    expect(builder.result()).toBeUndefined();
  });
});
