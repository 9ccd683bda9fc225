import { Header, Pax } from 'tar';

/** Size of a tar block: headers are one block, bodies are padded to whole blocks. */
export const TAR_BLOCK_SIZE = 512;

/** The end-of-archive marker: two zero blocks. */
export const TAR_END = Buffer.alloc(2 * TAR_BLOCK_SIZE);

/** What a bundle records of a file in its tar header. */
export interface TarFileHeader {
  path: string;
  size: number;
  executable?: boolean;
  mtime: Date;
}

/**
 * The header block of a regular file, preceded by a pax extended header when the path (or the
 * size) does not fit the ustar fields. Owner and group are 0 and unnamed: a bundle carries
 * content, not the exporting machine's users.
 */
export function tarFileHeader(file: TarFileHeader): Buffer {
  const fields = {
    path: file.path,
    mode: file.executable === true ? 0o755 : 0o644,
    size: file.size,
    mtime: file.mtime,
    uid: 0,
    gid: 0,
    uname: '',
    gname: '',
  };
  const block = Buffer.alloc(TAR_BLOCK_SIZE);
  const needsPax = new Header({ ...fields, type: 'File' }).encode(block, 0);
  if (!needsPax) return block;
  const pax = new Pax({ path: file.path, size: file.size, mtime: file.mtime }).encode();
  return Buffer.concat([pax, block]);
}

/** The zero bytes that pad a body of `size` bytes to a whole block. */
export function tarPadding(size: number): Buffer {
  const remainder = size % TAR_BLOCK_SIZE;
  return Buffer.alloc(remainder === 0 ? 0 : TAR_BLOCK_SIZE - remainder);
}
