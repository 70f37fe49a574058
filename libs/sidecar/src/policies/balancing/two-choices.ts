// Power of two choices: two distinct random endpoints, the cheaper one wins (used by least-request and peak-EWMA).
import type { EndpointState } from './balancer';

export function pickOfTwo(endpoints: readonly EndpointState[], cost: (e: EndpointState) => number, random: () => number): EndpointState | undefined {
  if (endpoints.length <= 1) return endpoints[0];
  const a = endpoints[Math.floor(random() * endpoints.length)]!;
  let b = endpoints[Math.floor(random() * (endpoints.length - 1))]!;
  if (b === a) b = endpoints[endpoints.length - 1]!;
  return cost(a) <= cost(b) ? a : b;
}
