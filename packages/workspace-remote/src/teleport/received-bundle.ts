import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** Bundles up to this size come back in memory; a larger one is written to a file as it comes. */
const MEMORY_BUNDLE_BYTES = 16 * 1024 * 1024;

/**
 * Receives a bundle being downloaded: in memory while it is small (a delta usually is, and then
 * no temporary file is written, read back and removed), else into the file `file()` names,
 * created only then. Resolves with the bytes, or the file's path.
 */
export async function receiveBundle(
  source: AsyncIterable<Buffer>,
  file: () => Promise<string>,
): Promise<Uint8Array | string> {
  const iterator = source[Symbol.asyncIterator]();
  const chunks: Buffer[] = [];
  let size = 0;
  while (size <= MEMORY_BUNDLE_BYTES) {
    const next = await iterator.next();
    if (next.done === true) return Buffer.concat(chunks, size);
    chunks.push(next.value);
    size += next.value.length;
  }
  const path = await file();
  async function* rest(): AsyncGenerator<Buffer> {
    yield* chunks.splice(0);
    for (let next = await iterator.next(); next.done !== true; next = await iterator.next()) {
      yield next.value;
    }
  }
  await pipeline(Readable.from(rest()), createWriteStream(path));
  return path;
}
