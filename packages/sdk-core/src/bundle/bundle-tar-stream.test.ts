import { describe, expect, it } from 'vitest';
import { coalesced } from './bundle-tar-stream';

async function collect(pieces: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const piece of pieces) out.push(piece);
  return out;
}

function from(pieces: Buffer[]): AsyncIterable<Buffer> {
  return (async function* () {
    for (const piece of pieces) yield await Promise.resolve(piece);
  })();
}

describe('coalesced', () => {
  it('joins small pieces and passes large ones through, bytes and order unchanged', async () => {
    const header = Buffer.alloc(512, 1);
    const small = Buffer.alloc(1000, 2);
    const large = Buffer.alloc(1024 * 1024, 3);
    const padding = Buffer.alloc(24, 4);
    const input = [header, small, padding, header, large, padding, Buffer.alloc(1024, 0)];
    const output = await collect(coalesced(from(input)));
    expect(Buffer.concat(output).equals(Buffer.concat(input))).toBe(true);
    // The small pieces before the large one as one, the large one itself, the rest as one.
    expect(output.map((piece) => piece.length)).toEqual([
      512 + 1000 + 24 + 512,
      large.length,
      1048,
    ]);
    expect(output[1]).toBe(large);
  });

  it('never holds more than about 256 KiB of small pieces', async () => {
    const input = Array.from({ length: 100 }, (_, index) => Buffer.alloc(10_000, index));
    const output = await collect(coalesced(from(input)));
    expect(Buffer.concat(output).equals(Buffer.concat(input))).toBe(true);
    expect(output.length).toBe(4);
    for (const piece of output) expect(piece.length).toBeLessThan(256 * 1024 + 10_000);
  });
});
