import { FerryError, isFerryErrorNamed } from './ferry-error';
import type { FerryErrorOptions } from './ferry-error';

/**
 * Why a sandbox cannot be made: `not_installed` (no `bwrap` where it was looked for),
 * `namespaces_unavailable` (the kernel refuses unprivileged user namespaces),
 * `process_limit_unavailable` (running as root, the process limit needs a writable pids
 * cgroup), `failed` (bwrap ran and failed for another reason).
 */
export type SandboxUnavailableReason =
  'not_installed' | 'namespaces_unavailable' | 'process_limit_unavailable' | 'failed';

const HINTS: Record<SandboxUnavailableReason, string> = {
  not_installed:
    'Install bubblewrap (Debian/Ubuntu: `apt-get install bubblewrap`; Fedora: ' +
    '`dnf install bubblewrap`) or point the `bwrapPath` sandbox option at it.',
  namespaces_unavailable:
    'The kernel refused to create user namespaces. Enable them: `sysctl -w ' +
    'kernel.unprivileged_userns_clone=1` (Debian), `sysctl -w user.max_user_namespaces=15000`, ' +
    'and on Ubuntu 23.10+ `sysctl -w kernel.apparmor_restrict_unprivileged_userns=0` (or an ' +
    'AppArmor profile for bwrap). In a container, allow user namespaces (e.g. a seccomp profile ' +
    'that permits `unshare`/`clone` with CLONE_NEWUSER).',
  process_limit_unavailable:
    'The kernel does not apply a process-count limit to root, so as root the sandbox puts its ' +
    'processes in a pids cgroup, and none could be created under /sys/fs/cgroup. Run the server ' +
    'as an unprivileged user (recommended), mount the pids cgroup controller writable, or set ' +
    'the sandbox option `maxProcesses: Infinity` to run without a process limit.',
  failed: 'Check the message above: a sandbox option may name a mount that is missing.',
};

/**
 * A sandboxed workspace (bubblewrap) cannot run on this machine. Thrown when the workspace or
 * server is created, never later: Ferry does not fall back to running unsandboxed.
 */
export class SandboxUnavailableError extends FerryError {
  constructor(
    readonly reason: SandboxUnavailableReason,
    readonly detail: string,
    options: FerryErrorOptions = {},
  ) {
    super('SANDBOX_UNAVAILABLE', `The sandbox cannot run: ${detail} ${HINTS[reason]}`, options);
  }

  static override isInstance(value: unknown): value is SandboxUnavailableError {
    return isFerryErrorNamed(value, 'SandboxUnavailableError');
  }

  protected override details() {
    return { reason: this.reason, detail: this.detail };
  }
}
