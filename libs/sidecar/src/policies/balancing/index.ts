// Load balancer by policy name.
import type { LbPolicy } from '@meshcart/mesh-config';
import type { Balancer } from './balancer';
import { ConsistentHash } from './consistent-hash';
import { LeastRequest } from './least-request';
import { PeakEwma } from './peak-ewma';
import { RandomBalancer } from './random';
import { RoundRobin } from './round-robin';

export type { Balancer, EndpointState } from './balancer';
export { ConsistentHash, LeastRequest, PeakEwma, RandomBalancer, RoundRobin };
export { observeLatency } from './peak-ewma';

export function createBalancer(policy: LbPolicy): Balancer {
  switch (policy) {
    case 'LEAST_REQUEST':
      return new LeastRequest();
    case 'PEAK_EWMA':
      return new PeakEwma();
    case 'CONSISTENT_HASH':
      return new ConsistentHash();
    case 'RANDOM':
      return new RandomBalancer();
    case 'ROUND_ROBIN':
      return new RoundRobin();
  }
}
