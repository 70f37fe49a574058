// A retry budget (Linkerd's model): retries may add budgetPercent of recent requests, plus a floor per second.
import type { RetryBudgetSettings } from '@meshcart/mesh-config';

const WINDOW_S = 10;

/** Counts requests and retries in one-second buckets over the last ten seconds. */
export class RetryBudget {
  private readonly requests = new Array<number>(WINDOW_S).fill(0);
  private readonly retries = new Array<number>(WINDOW_S).fill(0);
  private second = -1;

  constructor(
    private readonly settings: RetryBudgetSettings,
    private readonly now: () => number = Date.now,
  ) {}

  recordRequest(): void {
    this.requests[this.rotate()]! += 1;
  }

  /** Takes one retry from the budget; false when spent. */
  tryRetry(): boolean {
    const slot = this.rotate();
    const requests = this.requests.reduce((a, b) => a + b, 0);
    const retries = this.retries.reduce((a, b) => a + b, 0);
    const allowed = this.settings.minRetriesPerSecond * WINDOW_S + (this.settings.budgetPercent / 100) * requests;
    if (retries + 1 > allowed) return false;
    this.retries[slot]! += 1;
    return true;
  }

  private rotate(): number {
    const second = Math.floor(this.now() / 1000);
    if (this.second === -1) this.second = second;
    // Clear the buckets of seconds that passed with no traffic.
    for (let s = this.second + 1; s <= second && s <= this.second + WINDOW_S; s++) {
      this.requests[s % WINDOW_S] = 0;
      this.retries[s % WINDOW_S] = 0;
    }
    this.second = Math.max(this.second, second);
    return second % WINDOW_S;
  }
}
