// What a load balancer chooses from: an endpoint and the requests it has in flight from this proxy.
import type { Endpoint, LbPolicy } from '@meshcart/mesh-config';

export interface EndpointState {
  endpoint: Endpoint;
  inflight: number;
}

export interface Balancer {
  pick(endpoints: readonly EndpointState[]): EndpointState | undefined;
}

export type BalancerFactory = (policy: LbPolicy) => Balancer;
