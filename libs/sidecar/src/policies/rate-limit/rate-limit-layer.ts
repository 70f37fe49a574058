// Inbound rate limiting: a token bucket per route of the local service; over it, 429 with Retry-After.
import { RateLimitedError } from '../../core/errors';
import type { Layer } from '../../core/types';
import type { RouteTable } from '../routing/route-table';
import type { RateLimits } from './token-bucket';

/** `routes()` is the local service's own routes (its virtual host), from the config in force; `limits` holds their buckets. */
export function rateLimitLayer(service: string, routes: () => RouteTable, limits: RateLimits): Layer {
  return (inner) => (req) => {
    const route = routes().match(service, req.method, req.path, req.headers);
    const limit = route?.rateLimit;
    if (!route || !limit) return inner(req);
    const wait = limits.bucketFor(route.name, limit).take();
    if (wait > 0) {
      req.body?.resume();
      return Promise.reject(new RateLimitedError(`${service} route ${route.name} is over ${limit.requestsPerSecond} requests per second`, wait));
    }
    return inner(req);
  };
}
