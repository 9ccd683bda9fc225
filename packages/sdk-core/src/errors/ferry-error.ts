const FERRY_ERROR_MARKER = Symbol.for('@ferry/sdk-core/FerryError');

/** Options shared by every Ferry error. */
export interface FerryErrorOptions {
  /** The lower-level failure that led to this error, if any. */
  cause?: unknown;
}

/** The JSON form of a Ferry error, as written to logs and sent by the server. */
export interface FerryErrorJSON {
  name: string;
  code: string;
  message: string;
  [detail: string]: unknown;
}

/**
 * Base class of every error Ferry throws on purpose.
 *
 * `name` is the class name and `code` is stable across releases, so callers can switch on it.
 * Use `FerryError.isInstance(error)` (or the subclass' own `isInstance`) rather than
 * `instanceof`: it also recognises errors thrown by a second copy of this package.
 */
export class FerryError extends Error {
  /** Stable, machine-readable code (e.g. `AGENT_KIND_MISMATCH`). */
  readonly code: string;
  private readonly [FERRY_ERROR_MARKER] = true;

  constructor(code: string, message: string, options: FerryErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
  }

  /** True for any Ferry error, even from another installed copy of `@ferry/sdk-core`. */
  static isInstance(value: unknown): value is FerryError {
    return typeof value === 'object' && value !== null && FERRY_ERROR_MARKER in value;
  }

  /** Extra fields to include in `toJSON()`; subclasses add their details here. */
  protected details(): Record<string, unknown> {
    return {};
  }

  toJSON(): FerryErrorJSON {
    return { ...this.details(), name: this.name, code: this.code, message: this.message };
  }
}

/**
 * Builds the `isInstance` check of a subclass: a Ferry error with that class name, so the
 * check survives duplicate installs where `instanceof` would not.
 */
export function isFerryErrorNamed<T extends FerryError>(value: unknown, name: string): value is T {
  return FerryError.isInstance(value) && value.name === name;
}
