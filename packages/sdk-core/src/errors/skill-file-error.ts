import { FerryError, isFerryErrorNamed } from './ferry-error';

/**
 * A skill file (or folder) could not be loaded: unreadable, too large, not UTF-8, bad YAML
 * frontmatter, a field of the wrong type, an AgentSkills name that breaks the rules, or a
 * symlink that leads out of the folder being read. The loaders report it and skip the file;
 * the other skills still load.
 */
export class SkillFileError extends FerryError {
  /** The file or folder's path. */
  readonly path: string;
  /** What is wrong with it. */
  readonly reason: string;

  constructor(options: { path: string; reason: string; cause?: unknown }) {
    super('SKILL_FILE_INVALID', `Skipped the skill file "${options.path}": ${options.reason}.`, {
      cause: options.cause,
    });
    this.path = options.path;
    this.reason = options.reason;
  }

  static override isInstance(value: unknown): value is SkillFileError {
    return isFerryErrorNamed(value, 'SkillFileError');
  }

  protected override details() {
    return { path: this.path, reason: this.reason };
  }
}
