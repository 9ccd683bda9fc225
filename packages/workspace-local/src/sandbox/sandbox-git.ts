import { GIT_ENV_OVERRIDES, gitMissing } from '../local-git';
import type { GitHost } from '../local-git';
import type { Sandbox } from './sandbox';

/** Exit code of a script whose git is missing (bash's own for a command not found). */
const NOT_FOUND = 127;

const SCRIPTS = {
  git: 'command -v git >/dev/null || exit 127; exec git -c core.quotepath=false "$@"',
  realpath: 'exec realpath -e -- "$1"',
  repositories:
    'cd -- "$1" || exit 1; for e in * .[!.]* ..?*; do ' +
    '[ -d "$e" ] && [ ! -L "$e" ] && [ -e "$e/.git" ] && printf "%s\\0" "$e"; done; exit 0',
  readText: '[ -e "$1" ] || exit 100; exec cat -- "$1"',
  existingAncestor:
    'p=$1; while [ "$p" != / ] && [ ! -d "$p" ]; do p=$(dirname -- "$p"); done; printf %s "$p"',
} as const;

/**
 * git and the file lookups around it, run inside the workspace's sandbox: a repository's
 * hooks, `core.fsmonitor` or filters, which the agent may have written, run there too and not
 * on the host.
 */
export function sandboxGit(sandbox: Sandbox): GitHost {
  const script = async (name: keyof typeof SCRIPTS, cwd: string, args: readonly string[]) =>
    sandbox.run(['bash', '-c', SCRIPTS[name], name, ...args], { cwd, env: GIT_ENV_OVERRIDES });
  const text = async (name: keyof typeof SCRIPTS, args: readonly string[]) => {
    const result = await script(name, '/', args);
    if (result.exitCode !== 0) throw new Error(`${name} failed: ${result.stderr.trim()}`);
    return result.stdout.toString('utf8');
  };
  return {
    async git(cwd, args) {
      const result = await script('git', cwd, args);
      if (result.exitCode === NOT_FOUND) throw gitMissing(cwd);
      return { ok: result.exitCode === 0, stdout: result.stdout, stderr: result.stderr.trim() };
    },
    realpath: async (path) => (await text('realpath', [path])).replace(/\n$/, ''),
    repositoriesIn: async (directory) =>
      (await text('repositories', [directory])).split('\0').filter((name) => name !== ''),
    async readText(file) {
      const result = await script('readText', '/', [file]);
      if (result.exitCode === 100) return null;
      if (result.exitCode !== 0) throw new Error(`Cannot read ${file}: ${result.stderr.trim()}`);
      return result.stdout.toString('utf8');
    },
    existingAncestor: (directory) => text('existingAncestor', [directory]),
  };
}
