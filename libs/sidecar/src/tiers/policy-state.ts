// Who owns policy state, for every tier: the rule, and the one helper that applies it on a config push.
//
// A policy is a layer (what it does to one request) and, when it remembers anything, a state class
// of its own in the same folder under policies/. The state lives with what it is about:
// - per request: in the request's context (ctx: route, cluster, endpoint, attempt, deadline);
// - per route: in the tier that enforces it, by route name (the inbound tier's RateLimits), because
//   a push rebuilds every route object;
// - per cluster: in the Cluster (tiers/concrete.ts): retry budget, error-rate breaker, thresholds'
//   in-flight counts, the balancer, and each endpoint's health (in-flight count, peak-EWMA score,
//   outlier counters and ejection);
// - per address: in EndpointPools (connections), kept while the address and pool settings stay.
// Clusters outlive config pushes: a push reconfigures the Cluster of the same name, and each piece
// of its state is replaced only when that policy's own settings changed. So a push that does not
// touch a policy (a fault on another service, a new route) keeps its retry budget, open breaker,
// ejections and latency scores, and requests in flight are still counted.
import { canonicalJson } from '@meshcart/mesh-config';

/**
 * The state to use after a push from `previous` to `next` resources: `current` when the settings it
 * was made for are the same in both, else a new one from `make`. `previous` is undefined on the first.
 */
export function kept<R, S>(current: S, previous: R | undefined, next: R, settings: (resource: R) => unknown, make: () => S): S {
  return previous !== undefined && canonicalJson(settings(previous)) === canonicalJson(settings(next)) ? current : make();
}
