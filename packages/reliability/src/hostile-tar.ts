import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';

// Tar archives built byte by byte, so a test can write anything a hostile bundle could hold:
// any path, any entry type, a size that lies, a damaged checksum.

const BLOCK = 512;

/** Tar type flags, by the name node-tar gives them. */
export const TAR_TYPES = {
  File: '0',
  Link: '1',
  SymbolicLink: '2',
  CharacterDevice: '3',
  BlockDevice: '4',
  Directory: '5',
  FIFO: '6',
  ExtendedHeader: 'x',
  GlobalExtendedHeader: 'g',
  NextFileHasLongPath: 'L',
} as const;

/** One archive entry, as hostile as a test wants it. */
export interface RawTarEntry {
  path: string;
  data?: Buffer | string;
  /** A type flag (see {@link TAR_TYPES}); any character, unknown ones included. */
  type?: string;
  linkpath?: string;
  /** The size written in the header, when it should differ from the data's. */
  headerSize?: number;
  /** Add this to the header's checksum, to damage it. */
  checksumOffset?: number;
}

function writeString(block: Buffer, value: string, offset: number, length: number): void {
  Buffer.from(value, 'utf8').copy(block, offset, 0, length);
}

function writeOctal(block: Buffer, value: number, offset: number, length: number): void {
  const octal = value.toString(8);
  if (octal.length < length) {
    writeString(block, `${octal.padStart(length - 1, '0')}\0`, offset, length);
    return;
  }
  // Too large for octal digits: base-256, as GNU tar writes huge sizes.
  block[offset] = 0x80;
  let rest = BigInt(value);
  for (let index = offset + length - 1; index > offset; index -= 1) {
    block[index] = Number(rest & 0xffn);
    rest >>= 8n;
  }
}

/** One ustar header block. */
export function tarHeader(entry: RawTarEntry & { size: number }): Buffer {
  const block = Buffer.alloc(BLOCK);
  writeString(block, entry.path, 0, 100);
  writeOctal(block, 0o644, 100, 8);
  writeOctal(block, 0, 108, 8);
  writeOctal(block, 0, 116, 8);
  writeOctal(block, entry.size, 124, 12);
  writeOctal(block, Math.floor(Date.UTC(2025, 0, 1) / 1000), 136, 12);
  block.fill(' ', 148, 156);
  writeString(block, entry.type ?? TAR_TYPES.File, 156, 1);
  writeString(block, entry.linkpath ?? '', 157, 100);
  writeString(block, 'ustar\0', 257, 6);
  writeString(block, '00', 263, 2);
  let sum = 0;
  for (const byte of block) sum += byte;
  writeString(
    block,
    `${(sum + (entry.checksumOffset ?? 0)).toString(8).padStart(6, '0')}\0 `,
    148,
    8,
  );
  return block;
}

/** A pax extended header body: `<length> <key>=<value>\n` records. */
export function paxRecords(records: Record<string, string>): Buffer {
  const lines = Object.entries(records).map(([key, value]) => {
    const body = ` ${key}=${value}\n`;
    let length = body.length + 1;
    while (`${length}${body}`.length !== length) length += 1;
    return `${length}${body}`;
  });
  return Buffer.from(lines.join(''), 'utf8');
}

function padding(size: number): Buffer {
  const remainder = size % BLOCK;
  return Buffer.alloc(remainder === 0 ? 0 : BLOCK - remainder);
}

/** The uncompressed tar of `entries`, with (unless `end: false`) its two-block end marker. */
export function tarBytes(entries: readonly RawTarEntry[], options: { end?: boolean } = {}): Buffer {
  const blocks: Buffer[] = [];
  for (const entry of entries) {
    const data = Buffer.from(entry.data ?? '');
    blocks.push(tarHeader({ ...entry, size: entry.headerSize ?? data.length }), data);
    blocks.push(padding(data.length));
  }
  if (options.end !== false) blocks.push(Buffer.alloc(2 * BLOCK));
  return Buffer.concat(blocks);
}

/** The gzip-compressed tar of `entries`: a bundle as the import route takes it. */
export function packBundle(entries: readonly RawTarEntry[]): Buffer {
  return gzipSync(tarBytes(entries));
}

/**
 * The regular files of a bundle this Ferry exported (ustar headers, pax records for long paths),
 * in archive order. Only for well-formed archives: it is how a test takes a real bundle apart.
 */
export function unpackBundle(bundle: Buffer): RawTarEntry[] {
  const tar = gunzipSync(bundle);
  const entries: RawTarEntry[] = [];
  let offset = 0;
  let paxPath: string | undefined;
  while (offset + BLOCK <= tar.length) {
    const header = tar.subarray(offset, offset + BLOCK);
    if (header.every((byte) => byte === 0)) break;
    const field = (start: number, length: number) =>
      header
        .subarray(start, start + length)
        .toString('utf8')
        .replace(/\0.*$/s, '');
    const size = Number.parseInt(field(124, 12).trim() || '0', 8);
    const type = field(156, 1) || TAR_TYPES.File;
    const prefix = field(345, 155);
    const name = prefix === '' ? field(0, 100) : `${prefix}/${field(0, 100)}`;
    const data = Buffer.from(tar.subarray(offset + BLOCK, offset + BLOCK + size));
    offset += BLOCK + size + padding(size).length;
    if (type === TAR_TYPES.ExtendedHeader) {
      paxPath = /\d+ path=([^\n]*)\n/.exec(data.toString('utf8'))?.[1];
      continue;
    }
    entries.push({ path: paxPath ?? name, data, type });
    paxPath = undefined;
  }
  return entries;
}

/** The manifest (`manifest.json`, the first entry) of unpacked entries, as an object. */
export function manifestOf(entries: readonly RawTarEntry[]): Record<string, unknown> {
  const manifest = entries.find((entry) => entry.path === 'manifest.json');
  if (manifest === undefined) throw new Error('no manifest.json among the entries');
  return JSON.parse(String(manifest.data)) as Record<string, unknown>;
}

/**
 * The entries with a manifest listing every regular file (true sizes and checksums), first,
 * after `change` edits it: a bundle that is consistent except where a test makes it lie.
 */
export function withManifest(
  entries: readonly RawTarEntry[],
  change: (manifest: Record<string, unknown>) => void = () => undefined,
): RawTarEntry[] {
  const manifest = manifestOf(entries);
  const others = entries.filter((entry) => entry.path !== 'manifest.json');
  manifest.files = others
    .filter((entry) => (entry.type ?? TAR_TYPES.File) === TAR_TYPES.File)
    .map((entry) => {
      const data = Buffer.from(entry.data ?? '');
      return {
        path: entry.path,
        size: data.length,
        sha256: createHash('sha256').update(data).digest('hex'),
      };
    });
  change(manifest);
  return [{ path: 'manifest.json', data: JSON.stringify(manifest, null, 2) }, ...others];
}
