import { LocalWorkspace } from '@ferry/workspace-local';
import type { SandboxOptions } from '@ferry/workspace-local';
import { lstatSync } from 'node:fs';
import { isAbsolute, relative, resolve, sep } from 'node:path';

/** Options of {@link RouteWorkspaces}. */
export interface RouteWorkspacesOptions {
  /** The folder the `/bash`, `/file` and `/git` routes act in. */
  workspaceRoot: string;
  /** Sandbox the routes as the conversations are. */
  sandbox?: boolean | SandboxOptions | undefined;
}

/**
 * The workspaces behind the `/bash`, `/file` (with the folder browser and archives) and `/git`
 * routes. Unsandboxed: one `LocalWorkspace` over the workspace root. Sandboxed: a path in a conversation's folder
 * (`<root>/<folder>/...`) is handled in a sandbox that holds that folder alone, as the
 * conversation's own is, so a symlink, hook or command met there reaches nothing of the other
 * conversations; only paths at the root itself use a sandbox of the whole root.
 */
export class RouteWorkspaces {
  readonly workspaceRoot: string;
  readonly #sandbox: boolean | SandboxOptions;
  readonly #workspaces = new Map<string, LocalWorkspace>();

  constructor(options: RouteWorkspacesOptions) {
    this.workspaceRoot = resolve(options.workspaceRoot);
    this.#sandbox = options.sandbox ?? false;
    this.#get(this.workspaceRoot);
  }

  /** Whether the routes run sandboxed. */
  get sandboxed(): boolean {
    return this.#sandbox !== false;
  }

  /**
   * The workspace that handles `path` (absolute, or relative to the workspace root), and the
   * path to give it (made absolute when that workspace is a conversation folder's). Without a
   * path: the root's workspace.
   */
  for(path?: string): { workspace: LocalWorkspace; path: string } {
    const absolute = resolve(this.workspaceRoot, path ?? '.');
    if (!this.sandboxed) {
      return { workspace: this.#get(this.workspaceRoot), path: path ?? this.workspaceRoot };
    }
    return { workspace: this.#get(this.#folderFor(absolute)), path: absolute };
  }

  /**
   * For one request that writes outside the workspace (an archive into a scratch folder): a
   * sandbox of its own over the folder {@link for} would pick for `path`, with `readWrite` also
   * mounted read-write. The caller closes it. `undefined` when the routes are not sandboxed.
   */
  isolated(path: string, readWrite: readonly string[]): LocalWorkspace | undefined {
    if (this.#sandbox === false) return undefined;
    const folder = this.#folderFor(resolve(this.workspaceRoot, path));
    const options = this.#sandbox === true ? {} : this.#sandbox;
    return new LocalWorkspace({
      workingDir: folder,
      sandbox: { ...options, readWrite: [...(options.readWrite ?? []), ...readWrite] },
    });
  }

  async close(): Promise<void> {
    const workspaces = [...this.#workspaces.values()];
    this.#workspaces.clear();
    await Promise.all(workspaces.map((workspace) => workspace.close()));
  }

  /** The conversation folder `absolute` lies in (a real folder directly in the root), else the root. */
  #folderFor(absolute: string): string {
    const rel = relative(this.workspaceRoot, absolute);
    const first = rel.split(sep)[0] ?? '';
    const inside = rel !== '' && first !== '..' && !isAbsolute(rel);
    const folder = resolve(this.workspaceRoot, first);
    return inside && isRealDirectory(folder) ? folder : this.workspaceRoot;
  }

  #get(folder: string): LocalWorkspace {
    let workspace = this.#workspaces.get(folder);
    if (workspace === undefined) {
      workspace = new LocalWorkspace({
        workingDir: folder,
        ...(this.#sandbox === false ? {} : { sandbox: this.#sandbox }),
      });
      this.#workspaces.set(folder, workspace);
    }
    return workspace;
  }
}

/** A folder itself, not a symlink to one (whose target the sandbox would mount). */
function isRealDirectory(path: string): boolean {
  try {
    return lstatSync(path).isDirectory();
  } catch {
    return false;
  }
}
