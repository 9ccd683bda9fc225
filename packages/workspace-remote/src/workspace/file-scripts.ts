import type { FileEntry, FileStat, FileType } from '@ferry/sdk-core';
import { posix } from 'node:path';
import { shellQuote } from './shell-quote';

/**
 * Exit codes of the helper scripts below, chosen to be unlike a real command's: they tell the
 * client why a file operation run through the shell stopped.
 */
export const SCRIPT_EXIT = {
  /** `realpath` failed (a symlink loop, a permission problem). */
  unresolvable: 96,
  /** The path, followed through its symlinks, leaves the working directory. */
  outside: 97,
  notFound: 98,
  notADirectory: 99,
} as const;

/**
 * Shell lines that stop with {@link SCRIPT_EXIT.outside} unless every path, followed through
 * the symlinks of its existing part (dangling ones too), stays in `workingDir`. The server
 * confines its own routes to its workspace root; this holds them to the working directory.
 */
export function confinementCheck(workingDir: string, paths: readonly string[]): string {
  const lines = [
    `w=$(realpath -m -- ${shellQuote(workingDir)}) || exit ${SCRIPT_EXIT.unresolvable}`,
  ];
  for (const path of paths) {
    lines.push(
      `r=$(realpath -m -- ${shellQuote(path)}) || exit ${SCRIPT_EXIT.unresolvable}`,
      `case "$r/" in "\${w%/}"/*) ;; *) exit ${SCRIPT_EXIT.outside} ;; esac`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** Prints `yes` when `absolute` exists (a dangling symlink counts), `no` otherwise. */
export function existsScript(workingDir: string, absolute: string): string {
  const path = shellQuote(absolute);
  return `${confinementCheck(workingDir, [absolute])}if [ -e ${path} ] || [ -L ${path} ]; then echo yes; else echo no; fi\n`;
}

/** Prints `type\tsize\tmtime` of `absolute` without following a final symlink. */
export function statScript(workingDir: string, absolute: string): string {
  const path = shellQuote(absolute);
  return (
    confinementCheck(workingDir, [absolute]) +
    `[ -e ${path} ] || [ -L ${path} ] || exit ${SCRIPT_EXIT.notFound}\n` +
    `find ${path} -maxdepth 0 -printf '%y\\t%s\\t%T@\\n'\n`
  );
}

/** Prints `name\0type\0size\0mtime\0` for each entry of the directory `absolute`. */
export function listScript(workingDir: string, absolute: string): string {
  const path = shellQuote(absolute);
  // The trailing slash makes find enter a directory reached through a symlink.
  const start = shellQuote(absolute.endsWith('/') ? absolute : `${absolute}/`);
  return (
    confinementCheck(workingDir, [absolute]) +
    `[ -e ${path} ] || exit ${SCRIPT_EXIT.notFound}\n` +
    `[ -d ${path} ] || exit ${SCRIPT_EXIT.notADirectory}\n` +
    `find ${start} -mindepth 1 -maxdepth 1 -printf '%f\\0%y\\0%s\\0%T@\\0'\n`
  );
}

function fileType(letter: string | undefined): FileType {
  switch (letter) {
    case 'f':
      return 'file';
    case 'd':
      return 'directory';
    case 'l':
      return 'symlink';
    default:
      return 'other';
  }
}

function isoTime(epochSeconds: string | undefined): string {
  const seconds = Number(epochSeconds);
  return new Date(Number.isFinite(seconds) ? Math.round(seconds * 1000) : 0).toISOString();
}

/** Reads the output of {@link statScript}. */
export function parseStat(absolute: string, stdout: string): FileStat {
  const [type, size, mtime] = stdout.trimEnd().split('\t');
  return {
    path: absolute,
    type: fileType(type),
    size: Number(size ?? 0),
    modified_at: isoTime(mtime),
  };
}

/** Reads the output of {@link listScript}, sorted by name as `LocalWorkspace` sorts. */
export function parseList(absolute: string, stdout: string): FileEntry[] {
  const fields = stdout.split('\0');
  const entries: FileEntry[] = [];
  for (let index = 0; index + 3 < fields.length; index += 4) {
    const name = fields[index] ?? '';
    entries.push({
      name,
      path: posix.join(absolute, name),
      type: fileType(fields[index + 1]),
      size: Number(fields[index + 2] ?? 0),
      modified_at: isoTime(fields[index + 3]),
    });
  }
  return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
