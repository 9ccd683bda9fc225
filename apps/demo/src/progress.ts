import type { TeleportProgress } from '@ferry/workspace-remote';

const BAR_WIDTH = 30;
/** Redraws on a terminal at most this often. */
const REDRAW_MS = 100;

/**
 * The progress of one teleport hop on stderr. On a terminal one line is redrawn as bytes move;
 * elsewhere (a log, CI) only the final line is printed. `finish()` prints that final line once,
 * before whatever the destination reports next, so "arrived" never comes before 100%.
 */
export class TransferProgress {
  #last: TeleportProgress | undefined;
  #drawnAt = 0;
  #finished = false;

  constructor(
    readonly label: string,
    readonly stream: NodeJS.WriteStream = process.stderr,
  ) {}

  update(progress: TeleportProgress): void {
    if (this.#finished) return;
    this.#last = progress;
    if (this.stream.isTTY !== true || Date.now() - this.#drawnAt < REDRAW_MS) return;
    this.#drawnAt = Date.now();
    this.stream.write(`\r${this.#line(progress)}\x1b[K`);
  }

  /** The hop is over: print the final line (once). */
  finish(): void {
    const last = this.#last;
    if (this.#finished || last === undefined) return;
    this.#finished = true;
    const totalBytes = last.totalBytes ?? last.bytes;
    const done = {
      ...last,
      bytes: totalBytes,
      totalBytes,
      events: last.totalEvents ?? last.events,
    };
    const terminal = this.stream.isTTY === true;
    this.stream.write(`${terminal ? '\r' : ''}${this.#line(done)}${terminal ? '\x1b[K' : ''}\n`);
  }

  #line(progress: TeleportProgress): string {
    const name = this.label.padEnd(8);
    const events = `${progress.events}${progress.totalEvents === undefined ? '' : `/${progress.totalEvents}`} events`;
    if (progress.totalBytes === undefined || progress.totalBytes === 0) {
      // Downloading a bundle of unknown size: no percentage to give yet.
      return `  ${name} ${progress.stage} ${progress.bytes} bytes | ${events}`;
    }
    const ratio = Math.min(progress.bytes / progress.totalBytes, 1);
    const filled = Math.round(ratio * BAR_WIDTH);
    const bar = '█'.repeat(filled) + '░'.repeat(BAR_WIDTH - filled);
    return `  ${name} [${bar}] ${Math.round(ratio * 100)}% | ${progress.bytes}/${progress.totalBytes} bytes | ${events}`;
  }
}
