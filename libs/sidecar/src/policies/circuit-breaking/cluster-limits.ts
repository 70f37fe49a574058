// Circuit-breaker thresholds (Envoy's): requests, requests waiting for a connection, and retries in flight to one cluster.
import type { ClusterResource } from '@meshcart/mesh-config';
import { OverflowError } from '../../core/errors';
import type { MeshEvents } from '../../core/mesh-events';

/**
 * What is in flight to one cluster. The counts describe requests on their way, so they outlive
 * config pushes (a push in the middle of a burst must not make room that is not there); the
 * thresholds are read from the cluster's settings in force at each request.
 */
export class ClusterLimits {
  private inflight = 0;
  private retriesInflight = 0;

  constructor(
    private readonly cluster: string,
    private readonly events: MeshEvents,
  ) {}

  /**
   * Counts a request in, or refuses it (OverflowError) when a threshold is reached; returns what to
   * call when it is over. `endpoints` is how many the cluster has, for the connections it can hold.
   */
  admit(resource: ClusterResource, endpoints: number, retry: boolean): () => void {
    const cb = resource.circuitBreaker;
    const name = this.cluster;
    if (cb?.maxRequests !== undefined && this.inflight >= cb.maxRequests) {
      this.events.emit('overflow', { cluster: name, limit: 'maxRequests' });
      throw new OverflowError(`${name}: ${this.inflight} requests in flight (maxRequests ${cb.maxRequests})`);
    }
    if (cb?.maxPendingRequests !== undefined) {
      // Pending = requests beyond what the pools can carry at once, waiting for a connection.
      const capacity = endpoints * resource.connectionPool.maxConnections * resource.connectionPool.pipelining;
      if (this.inflight - capacity >= cb.maxPendingRequests) {
        this.events.emit('overflow', { cluster: name, limit: 'maxPendingRequests' });
        throw new OverflowError(
          `${name}: ${this.inflight - capacity} requests waiting for a connection (maxPendingRequests ${cb.maxPendingRequests})`,
        );
      }
    }
    if (retry && cb?.maxRetries !== undefined && this.retriesInflight >= cb.maxRetries) {
      this.events.emit('overflow', { cluster: name, limit: 'maxRetries' });
      throw new OverflowError(`${name}: ${this.retriesInflight} retries in flight (maxRetries ${cb.maxRetries})`);
    }
    this.inflight++;
    if (retry) this.retriesInflight++;
    this.events.emit('pending', { cluster: name, delta: 1 });
    return () => {
      this.inflight--;
      if (retry) this.retriesInflight--;
      this.events.emit('pending', { cluster: name, delta: -1 });
    };
  }
}
