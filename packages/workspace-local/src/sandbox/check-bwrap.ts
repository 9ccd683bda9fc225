import { SandboxUnavailableError } from '@ferry/sdk-core';
import { spawnSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';

/** Probes that already succeeded in this process, by bwrap program and options. */
const working = new Set<string>();

/** Seconds the probe may take before bwrap counts as broken. */
const PROBE_TIMEOUT_MS = 30_000;

/**
 * The absolute path of the bwrap program: `bwrapPath` itself when it names a path, else the
 * first executable of that name on this process's `PATH`. Throws
 * {@link SandboxUnavailableError} (`not_installed`).
 */
export function findBwrap(bwrapPath: string): string {
  if (bwrapPath.includes('/')) return resolve(bwrapPath);
  for (const folder of (process.env.PATH ?? '').split(delimiter)) {
    if (folder === '') continue;
    const candidate = join(folder, bwrapPath);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not in this folder.
    }
  }
  throw new SandboxUnavailableError('not_installed', `"${bwrapPath}" is not on PATH.`);
}

/**
 * Runs `true` in a sandbox made with `baseArguments`, synchronously, so a workspace or server
 * fails when it is created rather than at its first command. Throws
 * {@link SandboxUnavailableError} saying how to install bubblewrap or enable user namespaces.
 */
export function checkBwrap(bwrapPath: string, baseArguments: readonly string[]): void {
  const key = JSON.stringify([bwrapPath, baseArguments]);
  if (working.has(key)) return;
  const probe = spawnSync(bwrapPath, [...baseArguments, '--', 'true'], {
    env: { PATH: '/usr/bin:/bin' },
    encoding: 'utf8',
    stdio: ['ignore', 'ignore', 'pipe'],
    timeout: PROBE_TIMEOUT_MS,
  });
  if (probe.error !== undefined) {
    const code = (probe.error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'EACCES' || code === 'ENOTDIR') {
      throw new SandboxUnavailableError(
        'not_installed',
        `"${bwrapPath}" cannot be run (${code}).`,
        {
          cause: probe.error,
        },
      );
    }
    throw new SandboxUnavailableError('failed', `"${bwrapPath}" failed: ${probe.error.message}.`, {
      cause: probe.error,
    });
  }
  if (probe.status === 0) {
    working.add(key);
    return;
  }
  const message = probe.stderr.trim() || `exit code ${String(probe.status ?? probe.signal)}`;
  const reason = /namespace|uid map|permission|not permitted/i.test(message)
    ? 'namespaces_unavailable'
    : 'failed';
  throw new SandboxUnavailableError(reason, `bwrap failed: ${message}.`);
}
