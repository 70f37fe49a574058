// Inbound rate limiting: a token bucket per route of the local service; over it, 429 with Retry-After.
import { RateLimitedError } from '../errors';
import type { RouteTable } from '../route-table';
import type { Layer } from '../types';

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

/** `routes()` is the local service's own routes (its virtual host), from the config in force. */
export function rateLimitLayer(service: string, routes: () => RouteTable): Layer {
  const buckets = new Map<string, TokenBucket>();
  return (inner) => (req) => {
    const route = routes().match(service, req.method, req.path, req.headers);
    const limit = route?.rateLimit;
    if (!route || !limit) return inner(req);
    const key = `${route.name} ${limit.requestsPerSecond} ${limit.burst}`;
    let bucket = buckets.get(key);
    if (!bucket) buckets.set(key, (bucket = new TokenBucket(limit.requestsPerSecond, limit.burst)));
    const wait = bucket.take();
    if (wait > 0) {
      req.body?.resume();
      return Promise.reject(new RateLimitedError(`${service} route ${route.name} is over ${limit.requestsPerSecond} requests per second`, wait));
    }
    return inner(req);
  };
}
