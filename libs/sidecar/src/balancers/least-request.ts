// Least request by power of two choices: two random endpoints, the one with fewer requests in flight wins.
import type { Balancer, EndpointState } from './balancer';
import { pickOfTwo } from './two-choices';

export class LeastRequest implements Balancer {
  constructor(private readonly random: () => number = Math.random) {}

  pick(endpoints: readonly EndpointState[]): EndpointState | undefined {
    // Weight scales capacity: compare in-flight requests per unit of weight.
    return pickOfTwo(endpoints, (e) => e.inflight / e.endpoint.weight, this.random);
  }
}
