// Finds the request's route and its destination cluster; everything after it can rely on ctx.route.
import type { Cluster } from '../../tiers/concrete';
import { NoRouteError } from '../../core/errors';
import type { Layer } from '../../core/types';
import type { RouteTable } from './route-table';

/** The clusters in force, by name (undefined for one the config does not have: the logical tier's end refuses it). */
export type ClusterLookup = (name: string) => Cluster | undefined;

/** Outbound: the destination is the virtual host the caller named (Host or absolute URI). */
export function routeLayer(table: () => RouteTable, clusters: ClusterLookup): Layer {
  return (inner) => (req) => {
    const route = table().match(req.ctx.dstService, req.method, req.path, req.headers);
    if (!route) {
      return Promise.reject(new NoRouteError(`no route for ${req.method} ${req.path} on ${req.ctx.dstService}`));
    }
    req.ctx.route = route;
    req.ctx.cluster = clusters(route.cluster);
    return inner(req);
  };
}

/** Edge: the path picks the destination service, and the matched prefix is rewritten. */
export function edgeRouteLayer(table: () => RouteTable, clusters: ClusterLookup): Layer {
  return (inner) => (req) => {
    const route = table().match('*', req.method, req.path, req.headers);
    if (!route) return Promise.reject(new NoRouteError(`no route for ${req.method} ${req.path}`));
    req.ctx.route = route;
    req.ctx.cluster = clusters(route.cluster);
    req.ctx.dstService = route.cluster;
    if (route.rewritePrefix !== undefined) {
      const matched = route.match.pathExact ?? route.match.pathPrefix!;
      const rest = req.path.slice(matched.length);
      req.path = route.rewritePrefix === '/' && rest.startsWith('/') ? rest : route.rewritePrefix + rest;
    }
    return inner(req);
  };
}
