import { SandboxUnavailableError } from '@ferry/sdk-core';
import { randomUUID } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs';
import { rmdir } from 'node:fs/promises';
import { join } from 'node:path';

const CGROUP_ROOT = '/sys/fs/cgroup';

/**
 * A pids cgroup of its own (cgroup v1 `pids` controller or cgroup v2) whose `pids.max` bounds
 * every process of one sandboxed workspace. Used when the server runs as root, whom the kernel's
 * RLIMIT_NPROC does not bound. Throws {@link SandboxUnavailableError} when none can be made.
 */
export class PidsCgroup {
  /** The folder of the cgroup; a process joins it by writing its pid to `cgroup.procs`. */
  readonly path: string;

  private constructor(
    path: string,
    private readonly maxProcesses: number,
  ) {
    this.path = path;
  }

  static create(maxProcesses: number): PidsCgroup {
    const failures: string[] = [];
    for (const parent of candidateParents()) {
      removeAbandoned(parent);
      const path = join(parent, `ferry-sandbox-${process.pid}-${randomUUID()}`);
      try {
        mkdirSync(path);
        writeFileSync(join(path, 'pids.max'), String(maxProcesses));
        return new PidsCgroup(path, maxProcesses);
      } catch (error) {
        failures.push(`${parent}: ${error instanceof Error ? error.message : String(error)}`);
        void rmdir(path).catch(() => undefined);
      }
    }
    throw new SandboxUnavailableError(
      'process_limit_unavailable',
      `no pids cgroup could be created${failures.length === 0 ? '' : ` (${failures.join('; ')})`}.`,
    );
  }

  /** The file a process writes its pid to in order to join; the cgroup is made again if removed. */
  procsFile(): string {
    if (!existsSync(this.path)) {
      mkdirSync(this.path);
      writeFileSync(join(this.path, 'pids.max'), String(this.maxProcesses));
    }
    return join(this.path, 'cgroup.procs');
  }

  /** Removes the cgroup once its processes are gone (a busy one is left behind). */
  async remove(): Promise<void> {
    await rmdir(this.path).catch(() => undefined);
  }
}

/** Removes the empty cgroups that processes gone without closing their workspaces left in `parent`. */
function removeAbandoned(parent: string): void {
  let names: string[];
  try {
    names = readdirSync(parent);
  } catch {
    return;
  }
  for (const name of names) {
    const owner = /^ferry-sandbox-(\d+)-/.exec(name)?.[1];
    if (owner === undefined || isAlive(Number(owner))) continue;
    try {
      rmdirSync(join(parent, name));
    } catch {
      // Still holds processes, or already gone.
    }
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Where this process may create a child cgroup with a pids controller, best first. */
function candidateParents(): string[] {
  let lines: string[];
  try {
    lines = readFileSync('/proc/self/cgroup', 'utf8').split('\n');
  } catch {
    return [];
  }
  const parents: string[] = [];
  for (const line of lines) {
    const [, controllers = '', path = ''] = line.split(':');
    if (controllers.split(',').includes('pids')) {
      parents.push(join(CGROUP_ROOT, 'pids', path));
    } else if (line.startsWith('0::')) {
      // cgroup v2: usable when the pids controller is enabled for our cgroup's children.
      for (const root of [CGROUP_ROOT, join(CGROUP_ROOT, 'unified')]) {
        const own = join(root, path);
        const control = join(own, 'cgroup.subtree_control');
        if (existsSync(control) && readFileSync(control, 'utf8').split(/\s+/).includes('pids')) {
          parents.push(own);
        }
      }
    }
  }
  return parents;
}
