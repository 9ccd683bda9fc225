import { constants } from 'node:fs';
import { type FileHandle, open, readdir, readlink, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';
import { SkillFileError } from '../errors/skill-file-error';

/** An entry of a folder, as {@link ConfinedFolder.list} sees it (symlinks followed). */
export interface FolderEntry {
  name: string;
  /** The path as listed (through the folder that was asked for). */
  path: string;
  kind: 'file' | 'directory';
  /** Where it really is (inside the folder). */
  real: string;
}

/** Whether `path` is `root` itself or lies inside it. */
function isInside(path: string, root: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

function errnoCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

/**
 * One folder read without leaving it: every symlink met is followed only when its target lies
 * inside the folder's real path, and a file is checked again once opened (on Linux, where
 * `/proc/self/fd` says which file the descriptor really is), so a link swapped in between the
 * check and the read still reads nothing outside. Problems are collected in `errors`.
 */
export class ConfinedFolder {
  /** The folder's real path: nothing outside it is read. */
  readonly boundary: string;
  readonly #maxFileBytes: number;
  readonly #errors: SkillFileError[];
  readonly #reported = new Set<string>();

  private constructor(boundary: string, maxFileBytes: number, errors: SkillFileError[]) {
    this.boundary = boundary;
    this.#maxFileBytes = maxFileBytes;
    this.#errors = errors;
  }

  /**
   * The folder at `path`, or `undefined` when there is none (missing, or not a folder).
   * Problems met later are pushed to `errors`.
   */
  static async open(options: {
    path: string;
    maxFileBytes: number;
    errors: SkillFileError[];
  }): Promise<ConfinedFolder | undefined> {
    const real = await realpath(options.path).catch(() => undefined);
    if (real === undefined || !(await stat(real).catch(() => undefined))?.isDirectory()) {
      return undefined;
    }
    return new ConfinedFolder(real, options.maxFileBytes, options.errors);
  }

  /** Records a problem with one file (once) and goes on. */
  report(error: SkillFileError): void {
    const key = `${error.path}\0${error.reason}`;
    if (this.#reported.has(key)) return;
    this.#reported.add(key);
    this.#errors.push(error);
  }

  /**
   * Where `path` (inside this folder) really leads, or `undefined` when nothing is there. A
   * symlink leading outside is reported when `wanted` says the entry would have been read.
   */
  async #resolve(path: string, wanted: boolean): Promise<string | undefined> {
    const real = await realpath(path).catch(() => undefined);
    if (real === undefined) return undefined;
    if (isInside(real, this.boundary)) return real;
    if (wanted) {
      this.report(
        new SkillFileError({
          path,
          reason: `it is a symlink leading outside "${this.boundary}", which is not followed`,
        }),
      );
    }
    return undefined;
  }

  /**
   * Whether `path` is a folder inside this one (through symlinks that stay inside); a symlink
   * leading out is reported.
   */
  async isDirectory(path: string): Promise<boolean> {
    const real = await this.#resolve(path, true);
    return real !== undefined && (await stat(real).catch(() => undefined))?.isDirectory() === true;
  }

  /**
   * The files and folders directly in `directory`, sorted by name (code units, as OpenHands
   * sorts). Entries leading outside the folder are left out, and reported when `wanted` says
   * they would have been read; other kinds (sockets, FIFOs, dangling links) are left out.
   */
  async list(
    directory: string,
    wanted: (name: string, kind: FolderEntry['kind']) => boolean,
  ): Promise<FolderEntry[]> {
    const names = await readdir(directory).catch((error: unknown) => {
      if (errnoCode(error) !== 'ENOENT' && errnoCode(error) !== 'ENOTDIR') {
        this.report(
          new SkillFileError({ path: directory, reason: 'it cannot be listed', cause: error }),
        );
      }
      return [] as string[];
    });
    const entries: FolderEntry[] = [];
    for (const name of names.sort()) {
      const path = join(directory, name);
      const target = await stat(path).catch(() => undefined);
      const kind = target?.isFile() ? 'file' : target?.isDirectory() ? 'directory' : undefined;
      if (kind === undefined) continue;
      const real = await this.#resolve(path, wanted(name, kind));
      if (real !== undefined) entries.push({ name, path, kind, real });
    }
    return entries;
  }

  /**
   * The text of the file at `path` (UTF-8). Throws {@link SkillFileError} when it is outside
   * this folder, not a regular file, larger than the limit, not UTF-8, or unreadable.
   */
  async readText(path: string): Promise<string> {
    const fail = (reason: string, cause?: unknown) => new SkillFileError({ path, reason, cause });
    // O_NONBLOCK: a FIFO planted under a skill's name must not hang the read.
    const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK).catch(
      (error: unknown) => {
        throw fail('it cannot be opened', error);
      },
    );
    try {
      return await this.#readOpened(handle, path);
    } catch (error) {
      throw SkillFileError.isInstance(error) ? error : fail('it cannot be read', error);
    } finally {
      await handle.close();
    }
  }

  async #readOpened(handle: FileHandle, path: string): Promise<string> {
    const fail = (reason: string, cause?: unknown) => new SkillFileError({ path, reason, cause });
    const real = await readlink(`/proc/self/fd/${handle.fd}`).catch(() => realpath(path));
    if (!isInside(real, this.boundary)) {
      throw fail(`it leads outside "${this.boundary}" through a symlink, which is not followed`);
    }
    const info = await handle.stat();
    if (!info.isFile()) throw fail('it is not a regular file');
    const tooLarge = fail(`it is larger than the ${this.#maxFileBytes} bytes a skill file may be`);
    if (info.size > this.#maxFileBytes) throw tooLarge;
    // One byte more than the limit, so a file that grew since the stat is still caught.
    const buffer = Buffer.alloc(this.#maxFileBytes + 1);
    let length = 0;
    while (length < buffer.length) {
      const { bytesRead } = await handle.read(buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    if (length > this.#maxFileBytes) throw tooLarge;
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(buffer.subarray(0, length));
    } catch (error) {
      throw fail('it is not UTF-8 text', error);
    }
  }
}
