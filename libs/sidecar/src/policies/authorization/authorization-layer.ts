// Authorization at the destination: who may call this service, with which methods, on which paths.
import type { AuthorizationSettings } from '@meshcart/mesh-config';
import { ForbiddenError } from '../../core/errors';
import type { MeshEvents } from '../../core/mesh-events';
import type { Layer } from '../../core/types';

/** "*" is anything, "/a/*" is /a and below, anything else is exact. */
function pathAllowed(patterns: string[] | undefined, path: string): boolean {
  if (!patterns) return true;
  return patterns.some((p) => {
    if (p === '*') return true;
    if (p.endsWith('/*')) {
      const base = p.slice(0, -2);
      return path === base || path.startsWith(`${base}/`);
    }
    return path === p;
  });
}

export function isAllowed(policy: AuthorizationSettings, src: string, method: string, pathAndQuery: string): boolean {
  if (policy.defaultAction === 'ALLOW' && policy.rules.length === 0) return true;
  const q = pathAndQuery.indexOf('?');
  const path = q === -1 ? pathAndQuery : pathAndQuery.slice(0, q);
  const matched = policy.rules.some(
    (r) => (r.from.includes('*') || r.from.includes(src)) && (!r.methods || r.methods.includes(method)) && pathAllowed(r.paths, path),
  );
  return matched || policy.defaultAction === 'ALLOW';
}

export function authorizationLayer(policy: () => AuthorizationSettings, events: MeshEvents): Layer {
  return (inner) => (req) => {
    if (isAllowed(policy(), req.ctx.srcService, req.method, req.path)) return inner(req);
    req.body?.resume();
    events.emit('authz-denied', { src: req.ctx.srcService, dst: req.ctx.dstService });
    return Promise.reject(new ForbiddenError(`${req.ctx.srcService} may not ${req.method} ${req.path.split('?')[0]} on ${req.ctx.dstService}`));
  };
}
