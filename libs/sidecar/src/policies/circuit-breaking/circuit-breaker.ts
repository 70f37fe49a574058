// The error-rate breaker: closed → open (fail fast) → half-open (a few probes) → closed, per destination.
import type { CircuitBreakerSettings } from '@meshcart/mesh-config';
import type { BreakerState } from '../../core/mesh-events';
import { RollingCounts } from '../../core/rolling-counts';

const BUCKETS = 10;
const REQUESTS = 0;
const FAILURES = 1;

export class CircuitBreaker {
  state: BreakerState = 'closed';
  private openedAt = 0;
  private probes = 0;
  /** Requests and failures over the rolling window, in ten slots. */
  private readonly window: RollingCounts;

  constructor(
    private readonly settings: CircuitBreakerSettings,
    private readonly onState: (state: BreakerState) => void,
    private readonly now: () => number = Date.now,
  ) {
    this.window = new RollingCounts(BUCKETS, settings.rollingWindowMs / BUCKETS, now);
  }

  /** Whether a request may go out now; a half-open breaker lets `halfOpenRequests` probes through at a time. */
  admit(): boolean {
    if (this.state === 'open') {
      if (this.now() - this.openedAt < this.settings.sleepWindowMs) return false;
      this.transition('half-open');
    }
    if (this.state === 'half-open') {
      if (this.probes >= this.settings.halfOpenRequests) return false;
      this.probes++;
    }
    return true;
  }

  record(failed: boolean): void {
    if (this.state === 'half-open') {
      this.probes = Math.max(0, this.probes - 1);
      // One failed probe reopens at once; a successful one closes with a fresh window.
      if (failed) this.open();
      else {
        this.reset();
        this.transition('closed');
      }
      return;
    }
    if (this.state === 'open') return;
    this.window.add(REQUESTS);
    if (failed) this.window.add(FAILURES);
    const total = this.window.total(REQUESTS);
    if (total < this.settings.requestVolumeThreshold) return;
    const failures = this.window.total(FAILURES);
    if ((failures / total) * 100 >= this.settings.errorThresholdPercentage!) this.open();
  }

  private open(): void {
    this.openedAt = this.now();
    this.probes = 0;
    this.transition('open');
  }

  private reset(): void {
    this.window.clear();
  }

  private transition(state: BreakerState): void {
    if (this.state === state) return;
    this.state = state;
    this.onState(state);
  }
}
