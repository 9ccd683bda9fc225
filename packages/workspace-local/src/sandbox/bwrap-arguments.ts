import { existsSync, lstatSync, readlinkSync } from 'node:fs';
import { resolve, sep } from 'node:path';
import type { ResolvedSandboxOptions } from './sandbox-options';

/** The host's program and library folders, mounted read-only (or re-created as the symlinks they are). */
const SYSTEM_FOLDERS = ['/usr', '/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32', '/etc'];

/** Files under the read-only `/etc` that hold secrets of the host; hidden behind empty ones. */
const HIDDEN_FILES = ['/etc/shadow', '/etc/shadow-', '/etc/gshadow', '/etc/gshadow-'];
/** Folders under `/etc` that hold the host's private keys; hidden behind empty ones. */
const HIDDEN_FOLDERS = ['/etc/ssh', '/etc/ssl/private'];

/** What the sandbox mounts besides the system folders. */
export interface SandboxMounts {
  readWrite: readonly string[];
  readOnly: readonly string[];
}

/**
 * The bubblewrap options every command of one sandbox shares: new user, PID, IPC, UTS and
 * cgroup namespaces (and network when it is off), no capabilities, the system folders
 * read-only, fresh `/proc` and `/dev`, size-bounded `/tmp` and `/dev/shm`, the given folders
 * at their own paths, and a read-only root so nothing else can be written.
 */
export function bwrapBaseArguments(
  options: ResolvedSandboxOptions,
  mounts: SandboxMounts,
): string[] {
  const args = [
    '--unshare-user',
    '--unshare-pid',
    '--unshare-ipc',
    '--unshare-uts',
    '--unshare-cgroup-try',
    ...(options.network ? [] : ['--unshare-net']),
    '--die-with-parent',
    '--hostname',
    'ferry-sandbox',
  ];
  // As root bwrap keeps every capability inside its user namespace unless told otherwise.
  if (process.getuid?.() === 0) args.push('--cap-drop', 'ALL');
  for (const folder of SYSTEM_FOLDERS) {
    const info = lstatOrUndefined(folder);
    if (info === undefined) continue;
    if (info.isSymbolicLink()) args.push('--symlink', readlinkSync(folder), folder);
    else args.push('--ro-bind', folder, folder);
  }
  for (const file of HIDDEN_FILES) if (existsSync(file)) args.push('--ro-bind', '/dev/null', file);
  for (const folder of HIDDEN_FOLDERS) if (existsSync(folder)) args.push('--tmpfs', folder);
  args.push('--proc', '/proc', '--dev', '/dev');
  const size = String(options.tmpSize);
  args.push('--size', size, '--tmpfs', '/tmp', '--size', size, '--tmpfs', '/dev/shm');
  // Parents before children, so a folder inside another mount is mounted on top of it.
  const binds = [
    ...mounts.readOnly.map((path) => ({ path: resolve(path), option: '--ro-bind' })),
    ...mounts.readWrite.map((path) => ({ path: resolve(path), option: '--bind' })),
  ].sort((a, b) => depth(a.path) - depth(b.path));
  for (const { path, option } of binds) args.push(option, path, path);
  args.push('--remount-ro', '/');
  return args;
}

function depth(path: string): number {
  return path.split(sep).filter(Boolean).length;
}

function lstatOrUndefined(path: string) {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}
