/**
 * What a workspace can do beyond the basics (one-shot commands and files), so callers and the
 * conformance suite can skip what an implementation lacks.
 */
export interface WorkspaceCapabilities {
  /** `openShell` gives persistent sessions (cwd, env and functions survive between commands). */
  shellSessions: boolean;
  /** Sessions accept `isInput` and `interruptOnTimeout: false` (commands that outlive a call). */
  shellInput: boolean;
  /** The file system has symlinks, and a symlink pointing out of the workspace is refused. */
  symlinks: boolean;
  /** `gitChanges` and `gitDiff` work (git is installed where the workspace runs). */
  git: boolean;
}
