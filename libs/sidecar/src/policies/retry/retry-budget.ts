// A retry budget (Linkerd's model): retries may add budgetPercent of recent requests, plus a floor per second.
import type { RetryBudgetSettings } from '@meshcart/mesh-config';
import { RollingCounts } from '../../core/rolling-counts';

const WINDOW_S = 10;
const REQUESTS = 0;
const RETRIES = 1;

/** Counts requests and retries in one-second slots over the last ten seconds. */
export class RetryBudget {
  private readonly window: RollingCounts;

  constructor(
    private readonly settings: RetryBudgetSettings,
    now: () => number = Date.now,
  ) {
    this.window = new RollingCounts(WINDOW_S, 1000, now);
  }

  recordRequest(): void {
    this.window.add(REQUESTS);
  }

  /** Takes one retry from the budget; false when spent. */
  tryRetry(): boolean {
    const requests = this.window.total(REQUESTS);
    const retries = this.window.total(RETRIES);
    const allowed = this.settings.minRetriesPerSecond * WINDOW_S + (this.settings.budgetPercent / 100) * requests;
    if (retries + 1 > allowed) return false;
    this.window.add(RETRIES);
    return true;
  }
}
