// Finds the route for a request: a compiled, cached index (optimized) or a linear regex scan (baseline).
import type { RouteMatch, RouteMatchingMode, RouteResource, VirtualHostResource } from '@meshcart/mesh-config';

import type { Headers } from '../../core/types';

export interface RouteTable {
  match(vhost: string, method: string, path: string, headers?: Headers): RouteResource | undefined;
}

function headersMatch(m: RouteMatch, headers: Headers | undefined): boolean {
  if (!m.headers) return true;
  return Object.entries(m.headers).every(([k, v]) => headers?.[k] === v);
}

function pathOf(pathAndQuery: string): string {
  const q = pathAndQuery.indexOf('?');
  return q === -1 ? pathAndQuery : pathAndQuery.slice(0, q);
}

/** Prefixes match whole segments: /api/products matches /api/products/7, not /api/productsx. */
function matches(m: RouteMatch, method: string, path: string): boolean {
  if (m.methods && !m.methods.includes(method as never)) return false;
  if (m.pathExact !== undefined) return path === m.pathExact;
  const prefix = m.pathPrefix!;
  if (prefix === '/' || path === prefix) return true;
  return path.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`);
}

const CACHE_LIMIT = 10_000;

/**
 * Routes indexed by virtual host; the routes a (host, method, path) can take are cached, so hot
 * paths skip matching. Header conditions, which vary per request, are checked on that short list.
 */
class CompiledRouteTable implements RouteTable {
  private readonly byHost: Map<string, RouteResource[]>;
  private readonly cache = new Map<string, RouteResource[]>();

  constructor(vhosts: VirtualHostResource[]) {
    this.byHost = new Map(vhosts.map((v) => [v.name, v.routes]));
  }

  /**
   * The last lookup: consecutive requests mostly repeat host, method and path, and comparing three
   * strings is cheaper than building and hashing the cache key (most of this method's time per request).
   */
  private last: { vhost: string; method: string; path: string; candidates: RouteResource[] } | undefined;

  match(vhost: string, method: string, pathAndQuery: string, headers?: Headers): RouteResource | undefined {
    const path = pathOf(pathAndQuery);
    const last = this.last;
    const candidates =
      last && last.path === path && last.vhost === vhost && last.method === method ? last.candidates : this.lookup(vhost, method, path);
    if (candidates.length === 1 && !candidates[0]!.match.headers) return candidates[0];
    return candidates.find((r) => headersMatch(r.match, headers));
  }

  private lookup(vhost: string, method: string, path: string): RouteResource[] {
    const key = `${vhost} ${method} ${path}`;
    let candidates = this.cache.get(key);
    if (!candidates) {
      const routes = this.byHost.get(vhost) ?? this.byHost.get('*') ?? [];
      candidates = routes.filter((r) => matches(r.match, method, path));
      // A full cache is dropped rather than evicted entry by entry: simpler, and refills in microseconds.
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(key, candidates);
    }
    this.last = { vhost, method, path, candidates };
    return candidates;
  }
}

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Every request is tested against every route's regular expression in order, as many first meshes do. */
class LinearRegexRouteTable implements RouteTable {
  private readonly entries: { re: RegExp; route: RouteResource }[];

  constructor(vhosts: VirtualHostResource[]) {
    this.entries = vhosts.flatMap((v) =>
      v.routes.map((route) => {
        const host = v.name === '*' ? '[^ ]+' : escape(v.name);
        const methods = route.match.methods ? `(?:${route.match.methods.join('|')})` : '[A-Z]+';
        const { pathExact, pathPrefix } = route.match;
        const path =
          pathExact !== undefined ? escape(pathExact) : pathPrefix!.endsWith('/') ? `${escape(pathPrefix!)}.*` : `${escape(pathPrefix!)}(?:/.*)?`;
        return { re: new RegExp(`^${host} ${methods} ${path}$`), route };
      }),
    );
  }

  match(vhost: string, method: string, pathAndQuery: string, headers?: Headers): RouteResource | undefined {
    const subject = `${vhost} ${method} ${pathOf(pathAndQuery)}`;
    for (const { re, route } of this.entries) if (re.test(subject) && headersMatch(route.match, headers)) return route;
    return undefined;
  }
}

export function buildRouteTable(vhosts: VirtualHostResource[], mode: RouteMatchingMode): RouteTable {
  return mode === 'compiled' ? new CompiledRouteTable(vhosts) : new LinearRegexRouteTable(vhosts);
}
