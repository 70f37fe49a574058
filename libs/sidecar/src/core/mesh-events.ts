// Policy events (retries, breakers, ejections, connections) that metrics observe without policies knowing metrics.
import { EventEmitter } from 'node:events';

export type BreakerState = 'closed' | 'open' | 'half-open';

export interface MeshEventMap {
  retry: [{ cluster: string; route: string }];
  'retry-budget-exhausted': [{ cluster: string; route: string }];
  'breaker-state': [{ cluster: string; state: BreakerState }];
  overflow: [{ cluster: string; limit: 'maxRequests' | 'maxPendingRequests' | 'maxRetries' }];
  ejection: [{ cluster: string; endpoint: string; ejectedForMs: number }];
  'connection-opened': [{ cluster: string; endpoint: string }];
  'tls-handshake': [{ cluster: string; endpoint: string }];
  pending: [{ cluster: string; delta: 1 | -1 }];
  'authz-denied': [{ src: string; dst: string }];
  /** Under STRICT, a request not sent because its destination's only endpoints do not offer mTLS. */
  'plaintext-refused': [{ cluster: string }];
  /** Under STRICT, the endpoints of a cluster left out of balancing because they do not offer mTLS (empty when none). */
  'plaintext-endpoints': [{ cluster: string; instances: { instance: string; url: string }[] }];
  'tls-handshake-failed': [{ reason: string }];
  /** A pushed snapshot this proxy refused (NACK); it keeps serving its last good one. */
  'config-rejected': [{ kind: 'resources' | 'endpoints'; version: string }];
  /** A new workload certificate is in use. */
  certificate: [{ notAfter: Date; issuedAt: Date }];
}

export class MeshEvents extends EventEmitter<MeshEventMap> {}
