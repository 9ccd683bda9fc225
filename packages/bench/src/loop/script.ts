/** One scripted model reply: a call of the no-op tool, or the closing text. */
export type ScriptTurn =
  | { kind: 'tool-call'; callId: string; arguments: { step: number } }
  | { kind: 'text'; text: string };

/** The name of the tool every framework gets; it does nothing and answers `ok`. */
export const NOOP_TOOL = 'noop';
export const NOOP_DESCRIPTION = 'Does nothing and answers "ok".';
export const NOOP_RESULT = 'ok';

let callCounter = 0;

/**
 * The script every framework runs: `steps` calls of the no-op tool (each with its own arguments,
 * so no stuck detector sees a repeated action), then a text reply that ends the run. Call ids are
 * unique across the whole process.
 */
export function loopScript(steps: number): ScriptTurn[] {
  const turns: ScriptTurn[] = [];
  for (let step = 1; step <= steps; step += 1) {
    callCounter += 1;
    turns.push({ kind: 'tool-call', callId: `call_bench_${callCounter}`, arguments: { step } });
  }
  turns.push({ kind: 'text', text: 'Done.' });
  return turns;
}

/** Hands out a script's turns in order; past the end it is an error (a framework looped too far). */
export class ScriptCursor {
  #index = 0;

  constructor(private readonly turns: readonly ScriptTurn[]) {}

  next(): ScriptTurn {
    const turn = this.turns[this.#index];
    if (turn === undefined) throw new Error(`script exhausted after ${this.turns.length} turns`);
    this.#index += 1;
    return turn;
  }

  /** Model calls made so far. */
  get calls(): number {
    return this.#index;
  }

  get done(): boolean {
    return this.#index === this.turns.length;
  }
}
