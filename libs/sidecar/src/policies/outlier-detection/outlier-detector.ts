// Outlier detection (Envoy's): consecutive errors eject an endpoint for a while; at most maxEjectionPercent are out at once.
import type { OutlierDetectionSettings } from '@meshcart/mesh-config';
import { MeshError, UpstreamConnectError, UpstreamResetError, UpstreamTimeoutError } from '../../core/errors';
import type { MeshEvents } from '../../core/mesh-events';
import type { EndpointState } from '../balancing/balancer';

/** What outlier detection keeps per endpoint: it lives in the cluster's endpoint list, so it outlives config pushes. */
export interface OutlierCounters {
  consecutive5xx: number;
  consecutiveGateway: number;
  ejections: number;
  ejectedUntil: number;
}

export type Watched = EndpointState & OutlierCounters;

/** How a try ended: a status, or the error that took its place. */
export type Outcome = { status?: number; error?: unknown };

const GATEWAY_STATUSES = new Set([502, 503, 504]);

const isGatewayError = (o: Outcome) =>
  (o.status !== undefined && GATEWAY_STATUSES.has(o.status)) ||
  o.error instanceof UpstreamConnectError ||
  o.error instanceof UpstreamResetError ||
  o.error instanceof UpstreamTimeoutError;
const is5xx = (o: Outcome) => (o.status !== undefined && o.status >= 500) || (o.error instanceof MeshError && o.error.statusCode >= 500);

export class OutlierDetector {
  private readonly sweep: NodeJS.Timeout;

  constructor(
    readonly settings: OutlierDetectionSettings,
    private readonly cluster: string,
    /** The cluster's endpoints in force. */
    private readonly endpoints: () => readonly Watched[],
    private readonly events: MeshEvents,
    private readonly now: () => number = Date.now,
  ) {
    // Ejections are re-evaluated on Envoy's interval: an expired ejection ends at the next sweep.
    this.sweep = setInterval(() => this.unejectExpired(), settings.intervalMs);
    this.sweep.unref();
  }

  /** The endpoints of `inSubset` that are not ejected, unless too few are healthy (panic mode: all of them). */
  available<T extends Watched>(inSubset: T[]): T[] {
    // Nothing ejected (the usual case): no filtered copy of the list per request.
    if (!inSubset.some((s) => s.ejectedUntil > 0)) return inSubset;
    const healthy = inSubset.filter((s) => s.ejectedUntil === 0);
    const healthyPercent = inSubset.length ? (healthy.length / inSubset.length) * 100 : 100;
    return healthyPercent < this.settings.minHealthPercent ? inSubset : healthy;
  }

  observe(state: Watched, outcome: Outcome): void {
    const od = this.settings;
    state.consecutive5xx = is5xx(outcome) ? state.consecutive5xx + 1 : 0;
    state.consecutiveGateway = isGatewayError(outcome) ? state.consecutiveGateway + 1 : 0;
    const tripped =
      (od.consecutive5xxErrors !== undefined && state.consecutive5xx >= od.consecutive5xxErrors) ||
      (od.consecutiveGatewayErrors !== undefined && state.consecutiveGateway >= od.consecutiveGatewayErrors);
    if (!tripped || state.ejectedUntil > 0) return;
    const all = this.endpoints();
    const ejected = all.filter((s) => s.ejectedUntil > 0).length;
    // At most maxEjectionPercent of the endpoints are out at once, but one may always go (as in Envoy).
    if (ejected > 0 && ((ejected + 1) / all.length) * 100 > od.maxEjectionPercent) return;
    state.ejections++;
    const duration = od.baseEjectionTimeMs * state.ejections;
    state.ejectedUntil = this.now() + duration;
    state.consecutive5xx = 0;
    state.consecutiveGateway = 0;
    this.events.emit('ejection', { cluster: this.cluster, endpoint: state.endpoint.instance, ejectedForMs: duration });
  }

  close(): void {
    clearInterval(this.sweep);
  }

  private unejectExpired(): void {
    const now = this.now();
    for (const s of this.endpoints()) if (s.ejectedUntil > 0 && s.ejectedUntil <= now) s.ejectedUntil = 0;
  }
}
