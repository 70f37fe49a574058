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

/** What the denial metric and messages call a caller no certificate proved. */
export const UNAUTHENTICATED = 'unauthenticated';

/**
 * `principal` is the caller proven by its mTLS certificate, or undefined for a plaintext caller: a rule
 * naming services matches only a proven caller; `from: ["*"]` matches anyone, proven or not.
 */
export function isAllowed(policy: AuthorizationSettings, principal: string | undefined, method: string, pathAndQuery: string): boolean {
  if (policy.defaultAction === 'ALLOW' && policy.rules.length === 0) return true;
  const q = pathAndQuery.indexOf('?');
  const path = q === -1 ? pathAndQuery : pathAndQuery.slice(0, q);
  const matched = policy.rules.some(
    (r) =>
      (r.from.includes('*') || (principal !== undefined && r.from.includes(principal))) &&
      (!r.methods || r.methods.includes(method)) &&
      pathAllowed(r.paths, path),
  );
  return matched || policy.defaultAction === 'ALLOW';
}

/** Decides on the caller's certificate alone (ctx.principal), never on what a plaintext caller names itself. */
export function authorizationLayer(policy: () => AuthorizationSettings, events: MeshEvents): Layer {
  return (inner) => (req) => {
    const { principal, srcService, dstService } = req.ctx;
    if (isAllowed(policy(), principal, req.method, req.path)) return inner(req);
    req.body?.resume();
    events.emit('authz-denied', { src: principal ?? UNAUTHENTICATED, dst: dstService });
    const what = `${req.method} ${req.path.split('?')[0]} on ${dstService}`;
    const message =
      principal !== undefined
        ? `${principal} may not ${what}`
        : `an unauthenticated caller${srcService !== 'unknown' ? ` (claiming to be ${srcService}, without an mTLS certificate)` : ''} may not ${what}: rules naming services admit only callers proven by mTLS`;
    return Promise.reject(new ForbiddenError(message));
  };
}
