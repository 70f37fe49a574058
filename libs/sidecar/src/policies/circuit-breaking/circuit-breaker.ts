// The error-rate breaker: closed → open (fail fast) → half-open (a few probes) → closed, per destination.
import type { CircuitBreakerSettings } from '@meshcart/mesh-config';
import type { BreakerState } from '../../core/mesh-events';

const BUCKETS = 10;

export class CircuitBreaker {
  state: BreakerState = 'closed';
  private openedAt = 0;
  private probes = 0;
  private readonly requests = new Array<number>(BUCKETS).fill(0);
  private readonly failures = new Array<number>(BUCKETS).fill(0);
  private bucket = -1;

  constructor(
    private readonly settings: CircuitBreakerSettings,
    private readonly onState: (state: BreakerState) => void,
    private readonly now: () => number = Date.now,
  ) {}

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
    const slot = this.rotate();
    this.requests[slot]! += 1;
    if (failed) this.failures[slot]! += 1;
    const total = this.requests.reduce((a, b) => a + b, 0);
    if (total < this.settings.requestVolumeThreshold) return;
    const failures = this.failures.reduce((a, b) => a + b, 0);
    if ((failures / total) * 100 >= this.settings.errorThresholdPercentage!) this.open();
  }

  private open(): void {
    this.openedAt = this.now();
    this.probes = 0;
    this.transition('open');
  }

  private reset(): void {
    this.requests.fill(0);
    this.failures.fill(0);
  }

  private transition(state: BreakerState): void {
    if (this.state === state) return;
    this.state = state;
    this.onState(state);
  }

  private rotate(): number {
    const width = this.settings.rollingWindowMs / BUCKETS;
    const bucket = Math.floor(this.now() / width);
    if (this.bucket === -1) this.bucket = bucket;
    for (let b = this.bucket + 1; b <= bucket && b <= this.bucket + BUCKETS; b++) {
      this.requests[b % BUCKETS] = 0;
      this.failures[b % BUCKETS] = 0;
    }
    this.bucket = Math.max(this.bucket, bucket);
    return bucket % BUCKETS;
  }
}
