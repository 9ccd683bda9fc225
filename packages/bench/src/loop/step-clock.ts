import { summarize } from '../harness/stats';

/**
 * Records the moment of each no-op tool execution. The time between two executions is one whole
 * agent step as the framework runs it: the tool result recorded, the next model call made and
 * read, the call dispatched to the tool. Start-up and shut-down of a run fall outside.
 */
export class StepClock {
  readonly #times: bigint[] = [];
  readonly #counters: number[] = [];

  constructor(private readonly counter: () => number = () => 0) {}

  tick(): void {
    this.#times.push(process.hrtime.bigint());
    this.#counters.push(this.counter());
  }

  get ticks(): number {
    return this.#times.length;
  }

  /** Median milliseconds between consecutive ticks. */
  medianStepMs(): number {
    const deltas: number[] = [];
    for (let index = 1; index < this.#times.length; index += 1) {
      deltas.push(Number((this.#times[index] ?? 0n) - (this.#times[index - 1] ?? 0n)) / 1e6);
    }
    return summarize(deltas).median;
  }

  /** Median increase of the counter (e.g. fsyncs) between consecutive ticks. */
  medianCounterPerStep(): number {
    const deltas: number[] = [];
    for (let index = 1; index < this.#counters.length; index += 1) {
      deltas.push((this.#counters[index] ?? 0) - (this.#counters[index - 1] ?? 0));
    }
    return summarize(deltas).median;
  }
}
