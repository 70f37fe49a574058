// Least request by power of two choices: two random endpoints, the one with fewer requests in flight wins.
import type { Balancer, EndpointState } from './balancer';

export class LeastRequest implements Balancer {
  constructor(private readonly random: () => number = Math.random) {}

  pick(endpoints: readonly EndpointState[]): EndpointState | undefined {
    if (endpoints.length <= 1) return endpoints[0];
    const a = endpoints[Math.floor(this.random() * endpoints.length)]!;
    let b = endpoints[Math.floor(this.random() * (endpoints.length - 1))]!;
    if (b === a) b = endpoints[endpoints.length - 1]!;
    // Weight scales capacity: compare in-flight requests per unit of weight.
    return a.inflight / a.endpoint.weight <= b.inflight / b.endpoint.weight ? a : b;
  }
}
