import { FerryError, isFerryErrorNamed } from './ferry-error';

/**
 * Importing a bundle would replace something that exists: the conversation's folder, or
 * workspace files whose content differs from the bundle's. Nothing was changed.
 */
export class BundleConflictError extends FerryError {
  readonly conversationId: string;
  /** Where the existing conversation (or workspace) is. */
  readonly location: string;
  /** Workspace files (relative paths) that exist with other content; empty for a conversation conflict. */
  readonly files: readonly string[];

  constructor(options: { conversationId: string; location: string; files?: readonly string[] }) {
    const files = options.files ?? [];
    super(
      'BUNDLE_CONFLICT',
      files.length === 0
        ? `Conversation ${options.conversationId} already exists in "${options.location}". ` +
            'Pass overwrite: true to replace it with the bundle. Nothing was changed.'
        : `Importing conversation ${options.conversationId} would overwrite ${files.length} ` +
            `workspace file(s) in "${options.location}" whose content differs: ` +
            `${summarise(files)}. Pass overwrite: true to replace them. Nothing was changed.`,
    );
    this.conversationId = options.conversationId;
    this.location = options.location;
    this.files = files;
  }

  static override isInstance(value: unknown): value is BundleConflictError {
    return isFerryErrorNamed(value, 'BundleConflictError');
  }

  protected override details() {
    return { conversation_id: this.conversationId, location: this.location, files: this.files };
  }
}

function summarise(files: readonly string[]): string {
  const shown = files.slice(0, 10).join(', ');
  return files.length > 10 ? `${shown} and ${files.length - 10} more` : shown;
}
