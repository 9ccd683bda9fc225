import { FerryError, isFerryErrorNamed } from '@ferry/sdk-core';

/**
 * The workspace does not offer the operation (see its `capabilities`): e.g. persistent shell
 * sessions on a `RemoteWorkspace`, whose server API has none.
 */
export class WorkspaceCapabilityError extends FerryError {
  constructor(
    readonly capability: string,
    readonly workspaceKind: string,
    advice: string,
  ) {
    super(
      'WORKSPACE_CAPABILITY_UNSUPPORTED',
      `${workspaceKind} does not support ${capability}. ${advice}`,
    );
  }

  static override isInstance(value: unknown): value is WorkspaceCapabilityError {
    return isFerryErrorNamed(value, 'WorkspaceCapabilityError');
  }

  protected override details() {
    return { capability: this.capability, workspace_kind: this.workspaceKind };
  }
}
