// Random choice, weighted.
import type { Balancer, EndpointState } from './balancer';

export class RandomBalancer implements Balancer {
  constructor(private readonly random: () => number = Math.random) {}

  pick(endpoints: readonly EndpointState[]): EndpointState | undefined {
    if (endpoints.length === 0) return undefined;
    const total = endpoints.reduce((sum, e) => sum + e.endpoint.weight, 0);
    let slot = this.random() * total;
    for (const e of endpoints) {
      slot -= e.endpoint.weight;
      if (slot < 0) return e;
    }
    return endpoints[endpoints.length - 1];
  }
}
