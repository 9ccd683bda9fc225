import { WorkspaceFileError } from '@ferry/sdk-core';
import type { FileEntry, FileStat, WorkspaceFileErrorReason } from '@ferry/sdk-core';
import type { Sandbox, SandboxRunResult } from './sandbox';

/**
 * Exit codes the scripts below use for the failures a file operation reports, so the sandboxed
 * workspace throws the same `WorkspaceFileError`s as the host one.
 */
const REASONS: Record<number, WorkspaceFileErrorReason> = {
  100: 'not_found',
  101: 'is_a_directory',
  102: 'not_a_directory',
  103: 'permission_denied',
};

/** Shell functions shared by the scripts: `check PATH` fails like `open` would. */
const CHECK =
  'check() { if [ ! -e "$1" ]; then ' +
  'p=$(dirname -- "$1"); while [ "$p" != / ] && [ ! -e "$p" ]; do p=$(dirname -- "$p"); done; ' +
  '[ -d "$p" ] || exit 102; exit 100; fi; }; ';

const SCRIPTS = {
  read: `${CHECK}check "$1"; [ -d "$1" ] && exit 101; [ -r "$1" ] || exit 103; exec cat -- "$1"`,
  write:
    `${CHECK}[ -d "$1" ] && exit 101; d=$(dirname -- "$1"); ` +
    'if [ ! -d "$d" ]; then mkdir -p -- "$d" 2>/dev/null || { check "$d"; exit 102; }; fi; ' +
    '[ -e "$1" ] && [ ! -w "$1" ] && exit 103; [ -w "$d" ] || exit 103; exec cat > "$1"',
  list:
    `${CHECK}check "$1"; [ -d "$1" ] || exit 102; [ -r "$1" ] || exit 103; ` +
    'exec find "$1" -mindepth 1 -maxdepth 1 -printf \'%f\\0%y\\0%s\\0%T@\\0\'',
  stat: `[ -e "$1" ] || [ -L "$1" ] || { ${CHECK}check "$1"; }; exec find "$1" -maxdepth 0 -printf '%y\\0%s\\0%T@\\0'`,
  exists: '[ -e "$1" ] || [ -L "$1" ]',
  directory: `${CHECK}check "$1"; [ -d "$1" ] || exit 102`,
} as const;

/**
 * The file operations of a sandboxed `LocalWorkspace`, done by bash and coreutils inside its
 * sandbox: whatever a symlink or `..` leads to is resolved there, where only the workspace's
 * own folders exist, so a path swapped after the workspace checked it still cannot reach the
 * host. Paths are absolute and already checked against the allowed roots.
 */
export class SandboxFiles {
  constructor(private readonly sandbox: Sandbox) {}

  async readFile(absolute: string, path: string): Promise<Uint8Array> {
    const result = await this.#script('read', absolute, path);
    return new Uint8Array(result.stdout.buffer, result.stdout.byteOffset, result.stdout.byteLength);
  }

  async writeFile(absolute: string, path: string, data: Uint8Array | string): Promise<void> {
    const input = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    await this.#script('write', absolute, path, input);
  }

  async listFiles(absolute: string, path: string): Promise<FileEntry[]> {
    const fields = (await this.#script('list', absolute, path)).stdout.toString('utf8').split('\0');
    const entries: FileEntry[] = [];
    for (let index = 0; index + 3 < fields.length; index += 4) {
      const name = fields[index] ?? '';
      entries.push({
        name,
        ...describe(`${absolute.replace(/\/$/, '')}/${name}`, fields.slice(index + 1, index + 4)),
      });
    }
    return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  async stat(absolute: string, path: string): Promise<FileStat> {
    const fields = (await this.#script('stat', absolute, path)).stdout.toString('utf8').split('\0');
    return describe(absolute, fields);
  }

  async exists(absolute: string): Promise<boolean> {
    const result = await this.sandbox.run(['bash', '-c', SCRIPTS.exists, 'exists', absolute], {
      cwd: '/',
    });
    return result.exitCode === 0;
  }

  /** Throws `WorkspaceFileError` unless `absolute` is a folder. */
  async requireDirectory(operation: string, absolute: string): Promise<void> {
    await this.#script('directory', absolute, absolute, undefined, operation);
  }

  async #script(
    name: keyof typeof SCRIPTS,
    absolute: string,
    path: string,
    input?: Uint8Array,
    operation: string = name,
  ): Promise<SandboxRunResult> {
    const result = await this.sandbox.run(['bash', '-c', SCRIPTS[name], name, absolute], {
      cwd: '/',
      ...(input === undefined ? {} : { input }),
    });
    if (result.exitCode === 0) return result;
    const reason = REASONS[result.exitCode] ?? reasonOf(result.stderr);
    throw new WorkspaceFileError(operation, path, reason, {
      cause: new Error(result.stderr.trim() || `exit code ${result.exitCode}`),
    });
  }
}

/** The reason a failed command's message names (cat, mkdir and find say it the same way). */
function reasonOf(stderr: string): WorkspaceFileErrorReason {
  if (/Permission denied|Read-only file system/.test(stderr)) return 'permission_denied';
  if (/Is a directory/.test(stderr)) return 'is_a_directory';
  if (/Not a directory/.test(stderr)) return 'not_a_directory';
  if (/No such file or directory/.test(stderr)) return 'not_found';
  return 'other';
}

/** A `FileStat` from find's `%y`, `%s` and `%T@`. */
function describe(path: string, [kind = '', size = '0', modified = '0']: string[]): FileStat {
  const type =
    kind === 'l' ? 'symlink' : kind === 'd' ? 'directory' : kind === 'f' ? 'file' : 'other';
  return {
    path,
    type,
    size: Number(size),
    modified_at: new Date(Math.floor(Number(modified) * 1000)).toISOString(),
  };
}
