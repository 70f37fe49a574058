// Load balancer by policy name.
import type { LbPolicy } from '@meshcart/mesh-config';
import type { Balancer } from './balancer';
import { LeastRequest } from './least-request';
import { RandomBalancer } from './random';
import { RoundRobin } from './round-robin';

export type { Balancer, EndpointState } from './balancer';
export { LeastRequest, RandomBalancer, RoundRobin };

export function createBalancer(policy: LbPolicy): Balancer {
  switch (policy) {
    case 'LEAST_REQUEST':
      return new LeastRequest();
    case 'RANDOM':
      return new RandomBalancer();
    case 'ROUND_ROBIN':
      return new RoundRobin();
  }
}
