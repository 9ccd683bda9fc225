/**
 * Completion markers of a shell session. After each command the shell prints
 * `\x1eFERRY:<nonce>:<exit code>:<working dir>\x1e`; the nonce is random per command, so
 * output cannot fake one.
 */
const MARKER_START = '\x1eFERRY:';
const MARKER_END = '\x1e';

/** A parsed completion marker. */
export interface ShellMarker {
  nonce: string;
  exitCode: number;
  workingDir: string;
}

/** The shell code that prints the marker for `nonce` with the last exit code and `$PWD`. */
export function markerCommand(nonce: string): string {
  return `\\builtin printf '\\036FERRY:%s:%s:%s\\036' ${nonce} "$?" "$PWD"`;
}

/**
 * Splits a shell's decoded output into plain text and markers. Text that might be the start
 * of a marker is held back until the rest arrives.
 */
export class ShellMarkerParser {
  #pending = '';

  constructor(
    private readonly onText: (text: string) => void,
    private readonly onMarker: (marker: ShellMarker) => void,
  ) {}

  push(text: string): void {
    this.#pending += text;
    for (;;) {
      const start = this.#pending.indexOf(MARKER_START);
      if (start === -1) {
        const keep = partialPrefixLength(this.#pending, MARKER_START);
        this.#emit(this.#pending.slice(0, this.#pending.length - keep));
        this.#pending = this.#pending.slice(this.#pending.length - keep);
        return;
      }
      const end = this.#pending.indexOf(MARKER_END, start + MARKER_START.length);
      this.#emit(this.#pending.slice(0, start));
      if (end === -1) {
        this.#pending = this.#pending.slice(start);
        return;
      }
      const marker = parseMarkerBody(this.#pending.slice(start + MARKER_START.length, end));
      this.#pending = this.#pending.slice(end + MARKER_END.length);
      if (marker !== undefined) this.onMarker(marker);
    }
  }

  #emit(text: string): void {
    if (text !== '') this.onText(text);
  }
}

/** Parses `<nonce>:<exit code>:<working dir>`; `undefined` when it is not one. */
function parseMarkerBody(body: string): ShellMarker | undefined {
  const first = body.indexOf(':');
  const second = body.indexOf(':', first + 1);
  if (first <= 0 || second === -1) return undefined;
  const nonce = body.slice(0, first);
  const exitCode = body.slice(first + 1, second);
  if (!/^[0-9a-f]+$/.test(nonce) || !/^-?\d+$/.test(exitCode)) return undefined;
  return { nonce, exitCode: Number(exitCode), workingDir: body.slice(second + 1) };
}

/** Length of the longest suffix of `text` that is a proper prefix of `token`. */
function partialPrefixLength(text: string, token: string): number {
  for (let length = Math.min(token.length - 1, text.length); length > 0; length--) {
    if (text.endsWith(token.slice(0, length))) return length;
  }
  return 0;
}
