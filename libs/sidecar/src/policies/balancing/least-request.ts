// Least request by power of two choices: two random endpoints, the one with fewer requests in flight wins.
import type { Balancer, EndpointState } from './balancer';
import { pickOfTwo } from './two-choices';

/** In-flight requests per unit of weight: weight scales capacity. (Module-level: no closure per pick.) */
const load = (e: EndpointState) => e.inflight / e.endpoint.weight;

export class LeastRequest implements Balancer {
  constructor(private readonly random: () => number = Math.random) {}

  pick(endpoints: readonly EndpointState[]): EndpointState | undefined {
    return pickOfTwo(endpoints, load, this.random);
  }
}
