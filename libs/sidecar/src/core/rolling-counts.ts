// Counts over a rolling window of slots (what recent traffic did): the breaker's requests and failures, the retry budget's requests and retries.

/** Which of the two counts: e.g. 0 requests, 1 failures. */
export type Count = 0 | 1;

/** The window is `slots` periods of `slotMs` each; a slot is cleared when its period comes round again. */
export class RollingCounts {
  private readonly counts: [number[], number[]];
  private period = -1;

  constructor(
    private readonly slots: number,
    private readonly slotMs: number,
    private readonly now: () => number = Date.now,
  ) {
    this.counts = [new Array<number>(slots).fill(0), new Array<number>(slots).fill(0)];
  }

  add(count: Count): void {
    this.counts[count][this.rotate()]! += 1;
  }

  /** The count over the whole window. */
  total(count: Count): number {
    this.rotate();
    let total = 0;
    for (const n of this.counts[count]) total += n;
    return total;
  }

  clear(): void {
    for (const c of this.counts) c.fill(0);
  }

  /** The current slot, after clearing the slots of periods that passed with no traffic. */
  private rotate(): number {
    const period = Math.floor(this.now() / this.slotMs);
    if (this.period === -1) this.period = period;
    for (let p = this.period + 1; p <= period && p <= this.period + this.slots; p++) {
      this.counts[0][p % this.slots] = 0;
      this.counts[1][p % this.slots] = 0;
    }
    this.period = Math.max(this.period, period);
    return period % this.slots;
  }
}
