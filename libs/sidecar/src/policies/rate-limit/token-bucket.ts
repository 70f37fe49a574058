// Rate-limit state: one token bucket per route of the local service, refilled at the route's rate.
import type { RouteResource } from '@meshcart/mesh-config';

export class TokenBucket {
  private tokens: number;
  private last: number;

  constructor(
    readonly requestsPerSecond: number,
    readonly burst: number,
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = burst;
    this.last = now();
  }

  /** Takes a token; returns 0, or the seconds until one will be there. */
  take(): number {
    const now = this.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.requestsPerSecond);
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - this.tokens) / this.requestsPerSecond));
  }
}

type Limit = NonNullable<RouteResource['rateLimit']>;

/**
 * The buckets of every rate-limited route, by route name. A config push rebuilds the routes, so the
 * buckets are kept here instead: a route whose limit a push leaves alone keeps its tokens, and one
 * whose limit changed starts a full bucket at the new rate.
 */
export class RateLimits {
  private readonly buckets = new Map<string, TokenBucket>();

  bucketFor(route: string, limit: Limit): TokenBucket {
    let bucket = this.buckets.get(route);
    if (!bucket || bucket.requestsPerSecond !== limit.requestsPerSecond || bucket.burst !== limit.burst) {
      bucket = new TokenBucket(limit.requestsPerSecond, limit.burst);
      this.buckets.set(route, bucket);
    }
    return bucket;
  }
}
