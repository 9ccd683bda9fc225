import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { receiveBundle } from './received-bundle';

/** `count` pieces of `size` bytes, each filled with its number (mod 251), as a download. */
function pieces(count: number, size: number): AsyncIterable<Buffer> {
  return Readable.from(
    (function* () {
      for (let index = 0; index < count; index += 1) yield Buffer.alloc(size, index % 251);
    })(),
  );
}

describe('receiveBundle', () => {
  it('keeps a small bundle in memory and makes no file', async () => {
    let asked = 0;
    const received = await receiveBundle(pieces(3, 1000), () => {
      asked += 1;
      return Promise.resolve('/nowhere');
    });
    expect(asked).toBe(0);
    expect(received).toEqual(Buffer.concat([...[0, 1, 2].map((n) => Buffer.alloc(1000, n))]));
  });

  it('writes a large one, every byte in order, to the file it asks for', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'ferry-received-'));
    try {
      const received = await receiveBundle(pieces(20, 1024 * 1024), () =>
        Promise.resolve(join(dir, 'bundle.tar.gz')),
      );
      expect(received).toBe(join(dir, 'bundle.tar.gz'));
      const written = await readFile(join(dir, 'bundle.tar.gz'));
      expect(written.length).toBe(20 * 1024 * 1024);
      for (let index = 0; index < 20; index += 1) {
        expect(written[index * 1024 * 1024 + 5]).toBe(index % 251);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
