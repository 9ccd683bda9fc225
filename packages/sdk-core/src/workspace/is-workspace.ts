import type { Workspace } from './workspace';

/** The methods the `terminal` and `file_editor` tools call. */
const REQUIRED_METHODS = [
  'executeCommand',
  'openShell',
  'readFile',
  'writeFile',
  'listFiles',
  'stat',
  'exists',
] as const;

/**
 * True when `value` is a full {@link Workspace} (such as `LocalWorkspace`) rather than only the
 * `{ kind, workingDir }` description a conversation needs to persist where it runs. Checks the
 * shape, not the class, so it holds across duplicate installs and for custom workspaces.
 */
export function isWorkspace(value: unknown): value is Workspace {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Record<string, unknown>;
  return (
    typeof candidate.workingDir === 'string' &&
    typeof candidate.capabilities === 'object' &&
    candidate.capabilities !== null &&
    REQUIRED_METHODS.every((method) => typeof candidate[method] === 'function')
  );
}
