import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { create } from 'tar';
import { describe, expect, it } from 'vitest';
import { BundleFormatError } from '../errors/bundle-format-error';
import { createTemporaryDirectory } from '../testing/index';
import { collect, pack } from './bundle-test-helpers';
import { readEntryData, readTarEntries, type TarEntry } from './tar-reader';

const limits = { maxBytes: 1024 * 1024, maxEntries: 100 };

async function read(bundle: Buffer): Promise<Pick<TarEntry, 'path' | 'type'>[]> {
  const entries: Pick<TarEntry, 'path' | 'type'>[] = [];
  for await (const entry of readTarEntries(Readable.from([bundle]), limits)) {
    entries.push({ path: entry.path, type: entry.type });
  }
  return entries;
}

describe('readTarEntries', () => {
  it('reads archives made by node-tar: folders, pax long paths, execute bits', async () => {
    await using dir = await createTemporaryDirectory();
    const long = `${'nested-folder/'.repeat(12)}${'name'.repeat(40)}.txt`;
    await mkdir(join(dir.path, 'files', ...long.split('/').slice(0, -1)), { recursive: true });
    await writeFile(join(dir.path, 'files', long), 'deep');
    await writeFile(join(dir.path, 'files', 'tool.sh'), 'echo', { mode: 0o755 });
    const bundle = await collect(
      create({ gzip: true, cwd: join(dir.path, 'files'), portable: true }, ['tool.sh', long]),
    );
    const entries = [];
    for await (const entry of readTarEntries(Readable.from([bundle]), limits)) {
      entries.push({ ...entry, data: await readEntryData(entry) });
    }
    expect(entries.map((entry) => [entry.path, entry.type, entry.data.toString()])).toEqual([
      ['tool.sh', 'File', 'echo'],
      [long, 'File', 'deep'],
    ]);
    expect((entries[0]?.mode ?? 0) & 0o111).not.toBe(0);
  });

  it('reads GNU long names and skips global headers, folders kept without their slash', async () => {
    const long = `${'a'.repeat(150)}/b.txt`;
    const bundle = pack([
      { path: 'pax_global_header', type: 'GlobalExtendedHeader', data: '17 comment=hello\n' },
      { path: 'dir/', type: 'Directory' },
      { path: '././@LongLink', type: 'NextFileHasLongPath', data: `${long}\0` },
      { path: 'truncated-name', data: 'content' },
    ]);
    expect(await read(bundle)).toEqual([
      { path: 'dir', type: 'Directory' },
      { path: long, type: 'File' },
    ]);
  });

  it('refuses a damaged header', async () => {
    const tar = Buffer.alloc(2048);
    tar.write('not/a/header', 0);
    tar.write('0000777', 100);
    tar[156] = 0x30;
    await expect(read(gzipSync(tar))).rejects.toThrow(BundleFormatError);
  });
});
