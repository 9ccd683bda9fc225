/** Options of a sandboxed `LocalWorkspace` (`sandbox: true` takes every default). */
export interface SandboxOptions {
  /**
   * Whether commands reach the network (default `true`). `false` gives the sandbox a network
   * namespace of its own (`--unshare-net`) with nothing but a loopback device.
   */
  network?: boolean;
  /** Host folders or files mounted read-only at the same path inside the sandbox. */
  readOnly?: readonly string[];
  /**
   * Host folders mounted read-write at the same path inside the sandbox. The workspace's
   * `workingDir` and `allowedRoots` always are.
   */
  readWrite?: readonly string[];
  /** The bubblewrap program: a path, or a name looked up on `PATH` (default `bwrap`). */
  bwrapPath?: string;
  /**
   * Most processes the sandboxed commands may run at once, so a fork bomb stops there (default
   * 1024). `Infinity` for no limit. Applied as RLIMIT_NPROC; when the server runs as root (whom
   * that limit spares) through a pids cgroup instead.
   */
  maxProcesses?: number;
  /** Size of each sandbox's private `/tmp` (and `/dev/shm`) in bytes (default 256 MiB). */
  tmpSize?: number;
}

/** {@link SandboxOptions} with every default filled in. */
export interface ResolvedSandboxOptions {
  network: boolean;
  readOnly: readonly string[];
  readWrite: readonly string[];
  bwrapPath: string;
  maxProcesses: number;
  tmpSize: number;
}

const DEFAULT_MAX_PROCESSES = 1024;
const DEFAULT_TMP_SIZE = 256 * 1024 * 1024;

/** Fills in the defaults of `options` (`true` means all of them). */
export function resolveSandboxOptions(options: true | SandboxOptions): ResolvedSandboxOptions {
  const given = options === true ? {} : options;
  const maxProcesses = given.maxProcesses ?? DEFAULT_MAX_PROCESSES;
  if (!(maxProcesses >= 1)) {
    throw new RangeError(`sandbox.maxProcesses must be at least 1, got ${maxProcesses}.`);
  }
  const tmpSize = given.tmpSize ?? DEFAULT_TMP_SIZE;
  if (!Number.isInteger(tmpSize) || tmpSize < 1) {
    throw new RangeError(`sandbox.tmpSize must be a positive number of bytes, got ${tmpSize}.`);
  }
  return {
    network: given.network ?? true,
    readOnly: given.readOnly ?? [],
    readWrite: given.readWrite ?? [],
    bwrapPath: given.bwrapPath ?? 'bwrap',
    maxProcesses,
    tmpSize,
  };
}
