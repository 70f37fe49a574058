// What a load balancer chooses from: an endpoint and the requests it has in flight from this proxy.
import type { Endpoint, LbPolicy } from '@meshcart/mesh-config';

export interface EndpointState {
  endpoint: Endpoint;
  inflight: number;
  /** Peak-EWMA of response latency in ms (PEAK_EWMA), and when it was last updated. */
  ewmaMs?: number;
  ewmaAt?: number;
}

export interface Balancer {
  /** `key`: the request's hash key (CONSISTENT_HASH); other policies ignore it. */
  pick(endpoints: readonly EndpointState[], key?: string): EndpointState | undefined;
}

export type BalancerFactory = (policy: LbPolicy) => Balancer;
