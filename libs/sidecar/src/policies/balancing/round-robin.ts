// Round robin: each endpoint in turn, weighted by repetition of its turn, blind to load.
import type { Balancer, EndpointState } from './balancer';

export class RoundRobin implements Balancer {
  private next = 0;

  pick(endpoints: readonly EndpointState[]): EndpointState | undefined {
    if (endpoints.length === 0) return undefined;
    const total = endpoints.reduce((sum, e) => sum + e.endpoint.weight, 0);
    let slot = this.next++ % total;
    for (const e of endpoints) {
      slot -= e.endpoint.weight;
      if (slot < 0) return e;
    }
    return endpoints[0];
  }
}
