// Concrete tier: one per destination service (cluster): chooses an endpoint, then hands over to the endpoint tier.
import type { ClusterResource, Endpoint } from '@meshcart/mesh-config';
import { createBalancer, type Balancer, type EndpointState } from '../balancers';
import { onBodyDone } from '../body-done';
import { NoEndpointsError } from '../errors';
import { Stack, type Handler, type Layer } from '../types';

export class Cluster {
  private states: EndpointState[] = [];
  private readonly balancer: Balancer;
  readonly handler: Handler;

  constructor(
    readonly resource: ClusterResource,
    endpointHandler: Handler,
  ) {
    this.balancer = createBalancer(resource.lbPolicy);
    this.handler = new Stack()
      // Picks the endpoint first: every later layer is about that one address.
      .push(this.balanceLayer())
      // Counts requests in flight per endpoint, which least-request balancing reads.
      .push(this.inflightLayer())
      .build(endpointHandler);
  }

  /** Keeps in-flight counts of endpoints that stay, so a push does not reset balancing. */
  setEndpoints(endpoints: readonly Endpoint[]): void {
    const old = new Map(this.states.map((s) => [s.endpoint.instance, s]));
    this.states = endpoints.map((endpoint) => {
      const prev = old.get(endpoint.instance);
      return prev && prev.endpoint.url === endpoint.url ? Object.assign(prev, { endpoint }) : { endpoint, inflight: 0 };
    });
  }

  endpoints(): readonly EndpointState[] {
    return this.states;
  }

  private balanceLayer(): Layer {
    return (inner) => (req) => {
      const picked = this.balancer.pick(this.states);
      if (!picked) return Promise.reject(new NoEndpointsError(`no endpoints for ${this.resource.name}`));
      req.ctx.endpoint = picked.endpoint;
      return inner(req);
    };
  }

  private inflightLayer(): Layer {
    return (inner) => async (req) => {
      const state = this.states.find((s) => s.endpoint === req.ctx.endpoint);
      if (!state) return inner(req);
      state.inflight++;
      try {
        return onBodyDone(await inner(req), () => state.inflight--);
      } catch (err) {
        state.inflight--;
        throw err;
      }
    };
  }
}
