// Concrete tier: one per destination service (cluster): breakers, endpoint choice, outlier ejection.
import type { ClusterResource, Endpoint } from '@meshcart/mesh-config';
import { createBalancer, observeLatency, type Balancer, type EndpointState } from '../balancers';
import { onBodyDone } from '../body-done';
import { CircuitBreaker } from '../circuit-breaker';
import { CircuitOpenError, MeshError, NoEndpointsError, OverflowError, UpstreamConnectError, UpstreamResetError, UpstreamTimeoutError } from '../errors';
import type { MeshEvents } from '../mesh-events';
import { Stack, type Handler, type Headers, type Layer, type MeshRequest } from '../types';

interface OutlierState extends EndpointState {
  consecutive5xx: number;
  consecutiveGateway: number;
  ejections: number;
  ejectedUntil: number;
}

type Outcome = { status?: number; error?: unknown };

const GATEWAY_STATUSES = new Set([502, 503, 504]);

const isGatewayError = (o: Outcome) =>
  (o.status !== undefined && GATEWAY_STATUSES.has(o.status)) ||
  o.error instanceof UpstreamConnectError ||
  o.error instanceof UpstreamResetError ||
  o.error instanceof UpstreamTimeoutError;
const is5xx = (o: Outcome) => (o.status !== undefined && o.status >= 500) || (o.error instanceof MeshError && o.error.statusCode >= 500);

export class Cluster {
  private states: OutlierState[] = [];
  private readonly balancer: Balancer;
  private readonly breaker?: CircuitBreaker;
  private readonly sweep?: NodeJS.Timeout;
  private inflight = 0;
  private retriesInflight = 0;
  readonly handler: Handler;

  constructor(
    readonly resource: ClusterResource,
    endpointHandler: Handler,
    private readonly events: MeshEvents,
    private readonly now: () => number = Date.now,
  ) {
    this.balancer = createBalancer(resource.lbPolicy);
    const cb = resource.circuitBreaker;
    if (cb?.errorThresholdPercentage !== undefined) {
      this.breaker = new CircuitBreaker(cb, (state) => events.emit('breaker-state', { cluster: resource.name, state }), now);
    }
    if (resource.outlierDetection) {
      // Ejections are re-evaluated on Envoy's interval: an expired ejection ends at the next sweep.
      this.sweep = setInterval(() => this.unejectExpired(), resource.outlierDetection.intervalMs);
      this.sweep.unref();
    }
    this.handler = new Stack()
      // Limits, then the error-rate breaker, then the endpoint and its state, as one layer: as three
      // async layers wrapping each other they cost two more promises and awaits per request, and
      // did nothing between them. The order of the steps, and why, is in clusterLayer.
      .push(this.clusterLayer())
      .build(endpointHandler);
  }

  /** Keeps in-flight counts and ejections of endpoints that stay, so a push does not reset them. */
  setEndpoints(endpoints: readonly Endpoint[]): void {
    const old = new Map(this.states.map((s) => [s.endpoint.instance, s]));
    this.states = endpoints.map((endpoint) => {
      const prev = old.get(endpoint.instance);
      if (prev && prev.endpoint.url === endpoint.url) return Object.assign(prev, { endpoint });
      return { endpoint, inflight: 0, consecutive5xx: 0, consecutiveGateway: 0, ejections: 0, ejectedUntil: 0 };
    });
  }

  endpoints(): readonly (EndpointState & { ejected: boolean })[] {
    return this.states.map((s) => ({ endpoint: s.endpoint, inflight: s.inflight, ejected: s.ejectedUntil > 0 }));
  }

  breakerState(): string {
    return this.breaker?.state ?? 'closed';
  }

  close(): void {
    clearInterval(this.sweep);
  }

  /**
   * Endpoints a request may go to: those of its subset (by labels), without the ejected ones unless
   * too few of them are healthy (panic mode: all of them). A retry also leaves out the endpoints its
   * earlier tries went to, as long as another one remains.
   */
  private candidates(subset: string | undefined, tried?: readonly string[]): OutlierState[] {
    const labels = subset ? this.resource.subsets?.[subset] : undefined;
    const inSubset = labels ? this.states.filter((s) => Object.entries(labels).every(([k, v]) => s.endpoint.labels[k] === v)) : this.states;
    const pool = this.withoutEjected(inSubset);
    if (!tried?.length) return pool;
    const untried = pool.filter((s) => !tried.includes(s.endpoint.instance));
    return untried.length ? untried : pool;
  }

  private withoutEjected(inSubset: OutlierState[]): OutlierState[] {
    const od = this.resource.outlierDetection;
    // Nothing ejected (the usual case): no filtered copy of the list per request.
    if (!od || !inSubset.some((s) => s.ejectedUntil > 0)) return inSubset;
    const healthy = inSubset.filter((s) => s.ejectedUntil === 0);
    const healthyPercent = inSubset.length ? (healthy.length / inSubset.length) * 100 : 100;
    return healthyPercent < od.minHealthPercent ? inSubset : healthy;
  }

  /**
   * The cluster's policies around one request:
   * 1. limits first: an overloaded or failing destination is refused before any work is done for it;
   * 2. the error-rate breaker, which sees every outcome of the requests it admitted (including "no
   *    endpoint" below);
   * 3. the endpoint: every later step is about that one address;
   * 4. its in-flight count (least-request) and outcomes (outlier detection, PEAK_EWMA latency).
   * When the response ends, the endpoint's count is released before the cluster's.
   */
  private clusterLayer(): Layer {
    return (inner) => async (req) => {
      const done = this.admit(req);
      const breaker = this.breaker;
      if (breaker && !breaker.admit()) {
        done();
        throw new CircuitOpenError(`${this.resource.name}: circuit open after too many errors; failing fast`);
      }
      let state: OutlierState | undefined;
      try {
        const picked = this.balancer.pick(this.candidates(req.ctx.subset, req.ctx.triedEndpoints), this.hashKey(req.headers));
        if (!picked) {
          const which = req.ctx.subset ? ` subset ${req.ctx.subset}` : '';
          throw new NoEndpointsError(`no endpoints for ${this.resource.name}${which}`);
        }
        req.ctx.endpoint = picked.endpoint;
        req.ctx.triedEndpoints?.push(picked.endpoint.instance);
        // The balancer picks among this.states (see candidates), so the pick is the endpoint's state.
        state = picked as OutlierState;
        state.inflight++;
      } catch (err) {
        breaker?.record(true);
        done();
        throw err;
      }
      const started = performance.now();
      let res;
      try {
        res = await inner(req);
      } catch (err) {
        state.inflight--;
        this.observe(state, { error: err });
        breaker?.record(true);
        done();
        throw err;
      }
      // Time to response headers: what PEAK_EWMA ranks endpoints by.
      observeLatency(state, performance.now() - started);
      this.observe(state, { status: res.statusCode });
      const endpointState = state;
      onBodyDone(res, () => endpointState.inflight--);
      breaker?.record(is5xx({ status: res.statusCode }));
      return onBodyDone(res, done);
    };
  }

  /** Checks the cluster's limits and counts the request in; returns what to call when it is over. Throws OverflowError. */
  private admit(req: MeshRequest): () => void {
    const cb = this.resource.circuitBreaker;
    const name = this.resource.name;
    const retry = (req.ctx.attempt ?? 0) > 0;
    if (cb?.maxRequests !== undefined && this.inflight >= cb.maxRequests) {
      this.events.emit('overflow', { cluster: name, limit: 'maxRequests' });
      throw new OverflowError(`${name}: ${this.inflight} requests in flight (maxRequests ${cb.maxRequests})`);
    }
    if (cb?.maxPendingRequests !== undefined) {
      // Pending = requests beyond what the pools can carry at once, waiting for a connection.
      const capacity = this.states.length * this.resource.connectionPool.maxConnections * this.resource.connectionPool.pipelining;
      if (this.inflight - capacity >= cb.maxPendingRequests) {
        this.events.emit('overflow', { cluster: name, limit: 'maxPendingRequests' });
        throw new OverflowError(`${name}: ${this.inflight - capacity} requests waiting for a connection (maxPendingRequests ${cb.maxPendingRequests})`);
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

  /** CONSISTENT_HASH: the header's value, or the cookie's. */
  private hashKey(headers: Headers): string | undefined {
    const on = this.resource.hashOn;
    if (!on) return undefined;
    if ('header' in on) {
      const v = headers[on.header];
      return Array.isArray(v) ? v[0] : v;
    }
    const cookies = headers['cookie'];
    const line = Array.isArray(cookies) ? cookies.join('; ') : (cookies ?? '');
    for (const part of line.split(';')) {
      const [name, ...value] = part.trim().split('=');
      if (name === on.cookie) return value.join('=');
    }
    return undefined;
  }

  private observe(state: OutlierState, outcome: Outcome): void {
    const od = this.resource.outlierDetection;
    if (!od) return;
    state.consecutive5xx = is5xx(outcome) ? state.consecutive5xx + 1 : 0;
    state.consecutiveGateway = isGatewayError(outcome) ? state.consecutiveGateway + 1 : 0;
    const tripped =
      (od.consecutive5xxErrors !== undefined && state.consecutive5xx >= od.consecutive5xxErrors) ||
      (od.consecutiveGatewayErrors !== undefined && state.consecutiveGateway >= od.consecutiveGatewayErrors);
    if (!tripped || state.ejectedUntil > 0) return;
    const ejected = this.states.filter((s) => s.ejectedUntil > 0).length;
    // At most maxEjectionPercent of the endpoints are out at once, but one may always go (as in Envoy).
    if (ejected > 0 && ((ejected + 1) / this.states.length) * 100 > od.maxEjectionPercent) return;
    state.ejections++;
    const duration = od.baseEjectionTimeMs * state.ejections;
    state.ejectedUntil = this.now() + duration;
    state.consecutive5xx = 0;
    state.consecutiveGateway = 0;
    this.events.emit('ejection', { cluster: this.resource.name, endpoint: state.endpoint.instance, ejectedForMs: duration });
  }

  private unejectExpired(): void {
    const now = this.now();
    for (const s of this.states) if (s.ejectedUntil > 0 && s.ejectedUntil <= now) s.ejectedUntil = 0;
  }
}
