// Concrete tier: one Cluster per destination service: its thresholds, breaker, endpoint choice and outlier ejection.
import type { ClusterResource, Endpoint } from '@meshcart/mesh-config';
import { onBodyDone } from '../core/body-done';
import { CircuitOpenError, NoEndpointsError, PlaintextEndpointRefusedError, type MeshError } from '../core/errors';
import type { MeshEvents } from '../core/mesh-events';
import { Stack, type Handler, type Layer } from '../core/types';
import { createBalancer, observeLatency, type Balancer } from '../policies/balancing';
import { hashKey } from '../policies/balancing/hash-key';
import { CircuitBreaker } from '../policies/circuit-breaking/circuit-breaker';
import { ClusterLimits } from '../policies/circuit-breaking/cluster-limits';
import { OutlierDetector, type Watched } from '../policies/outlier-detection/outlier-detector';
import { RetryBudget } from '../policies/retry/retry-budget';
import { kept } from './policy-state';

/** One endpoint as its cluster keeps it: the address, and its health (in flight, latency score, outlier counters). */
type EndpointHealth = Watched;

export class Cluster {
  /** Per-cluster state read by the logical tier's retry layer (see policy-state.ts for who owns what). */
  retryBudget?: RetryBudget;
  handler!: Handler;
  private states: EndpointHealth[] = [];
  /** Under STRICT mTLS: the endpoints left out of balancing because they do not offer mTLS. */
  private plaintext: readonly Endpoint[] = [];
  private readonly limits: ClusterLimits;
  private balancer!: Balancer;
  private breaker?: CircuitBreaker;
  private outliers?: OutlierDetector;

  /** `endpointTier` builds the handler that sends to the picked endpoint, for the cluster's settings in force. */
  constructor(
    public resource: ClusterResource,
    private readonly endpointTier: (resource: ClusterResource) => Handler,
    private readonly events: MeshEvents,
    private readonly now: () => number = Date.now,
  ) {
    this.limits = new ClusterLimits(resource.name, events);
    this.configure(undefined);
  }

  /** A config push for this cluster: each policy whose settings changed starts afresh, the others keep their state. */
  reconfigure(resource: ClusterResource): this {
    const previous = this.resource;
    this.resource = resource;
    this.configure(previous);
    return this;
  }

  private configure(previous: ClusterResource | undefined): void {
    const r = this.resource;
    const name = r.name;
    this.balancer = kept(
      this.balancer,
      previous,
      r,
      (c) => c.lbPolicy,
      () => createBalancer(r.lbPolicy),
    );
    this.breaker = kept(
      this.breaker,
      previous,
      r,
      (c) => c.circuitBreaker,
      () => {
        const cb = r.circuitBreaker;
        if (cb?.errorThresholdPercentage === undefined) return undefined;
        return new CircuitBreaker(cb, (state) => this.events.emit('breaker-state', { cluster: name, state }), this.now);
      },
    );
    const outliers = this.outliers;
    this.outliers = kept(
      outliers,
      previous,
      r,
      (c) => c.outlierDetection,
      () => {
        outliers?.close();
        const od = r.outlierDetection;
        return od ? new OutlierDetector(od, name, () => this.states, this.events, this.now) : undefined;
      },
    );
    this.retryBudget = kept(
      this.retryBudget,
      previous,
      r,
      (c) => c.retryBudget,
      () => (r.retryBudget ? new RetryBudget(r.retryBudget) : undefined),
    );
    this.handler = new Stack()
      // Thresholds, then the error-rate breaker, then the endpoint and its state, as one layer: as three
      // async layers wrapping each other they cost two more promises and awaits per request, and did
      // nothing between them (measured in bench:peers profiles). The order of the steps is in clusterLayer.
      .push(this.clusterLayer())
      .build(this.endpointTier(r));
  }

  /**
   * Keeps the health (in flight, latency, ejection) of endpoints that stay, so a push does not reset it.
   * `requireMtls` (the mesh is STRICT): endpoints that do not offer mTLS are left out, so balancing
   * goes to the others; a request that finds only such endpoints is refused (see noEndpoint), never
   * sent in plaintext.
   */
  setEndpoints(endpoints: readonly Endpoint[], requireMtls = false): void {
    const plaintext = requireMtls ? endpoints.filter((e) => !e.mtls) : [];
    const usable = plaintext.length > 0 ? endpoints.filter((e) => e.mtls) : endpoints;
    const describe = (list: readonly Endpoint[]) => list.map((e) => `${e.instance} ${e.url}`).join(',');
    if (describe(plaintext) !== describe(this.plaintext)) {
      this.events.emit('plaintext-endpoints', {
        cluster: this.resource.name,
        instances: plaintext.map((e) => ({ instance: e.instance, url: e.url })),
      });
    }
    this.plaintext = plaintext;
    const old = new Map(this.states.map((s) => [s.endpoint.instance, s]));
    this.states = usable.map((endpoint) => {
      const prev = old.get(endpoint.instance);
      if (prev && prev.endpoint.url === endpoint.url) return Object.assign(prev, { endpoint });
      return { endpoint, inflight: 0, consecutive5xx: 0, consecutiveGateway: 0, ejections: 0, ejectedUntil: 0 };
    });
  }

  endpoints(): readonly { endpoint: Endpoint; inflight: number; ejected: boolean }[] {
    return this.states.map((s) => ({ endpoint: s.endpoint, inflight: s.inflight, ejected: s.ejectedUntil > 0 }));
  }

  /** Endpoints left out because the mesh is STRICT and they do not offer mTLS (for /config_dump). */
  plaintextEndpoints(): readonly Endpoint[] {
    return this.plaintext;
  }

  breakerState(): string {
    return this.breaker?.state ?? 'closed';
  }

  close(): void {
    this.outliers?.close();
  }

  /**
   * Endpoints a request may go to: those of its subset (by labels), without the ejected ones unless
   * too few of them are healthy (panic mode: all of them). A retry also leaves out the endpoints its
   * earlier tries went to, as long as another one remains.
   */
  private candidates(subset: string | undefined, tried?: readonly string[]): EndpointHealth[] {
    const labels = subset ? this.resource.subsets?.[subset] : undefined;
    const inSubset = labels ? this.states.filter((s) => matches(s.endpoint, labels)) : this.states;
    const pool = this.outliers ? this.outliers.available(inSubset) : inSubset;
    if (!tried?.length) return pool;
    const untried = pool.filter((s) => !tried.includes(s.endpoint.instance));
    return untried.length ? untried : pool;
  }

  /**
   * Why a request found no endpoint: under STRICT, when the subset has endpoints that were left out
   * for lacking mTLS, that refusal (counted), rather than a bare "no endpoints".
   */
  private noEndpoint(subset: string | undefined): MeshError {
    const which = subset ? ` subset ${subset}` : '';
    const labels = subset ? this.resource.subsets?.[subset] : undefined;
    const plaintext = labels ? this.plaintext.filter((e) => matches(e, labels)) : this.plaintext;
    if (plaintext.length === 0) return new NoEndpointsError(`no endpoints for ${this.resource.name}${which}`);
    this.events.emit('plaintext-refused', { cluster: this.resource.name });
    const list = plaintext.map((e) => `${e.instance} (${e.url})`).join(', ');
    return new PlaintextEndpointRefusedError(
      `${this.resource.name}${which}: mTLS mode is STRICT and its only endpoints do not offer mTLS (${list}); nothing is sent to them in plaintext`,
    );
  }

  /**
   * The cluster's policies around one request:
   * 1. thresholds first: an overloaded or failing destination is refused before any work is done for it;
   * 2. the error-rate breaker, which sees every outcome of the requests it admitted (including "no
   *    endpoint" below);
   * 3. the endpoint: every later step is about that one address;
   * 4. its in-flight count (least-request) and outcomes (outlier detection, PEAK_EWMA latency).
   * When the response ends, the endpoint's count is released before the cluster's.
   */
  private clusterLayer(): Layer {
    return (inner) => async (req) => {
      const done = this.limits.admit(this.resource, this.states.length, (req.ctx.attempt ?? 0) > 0);
      const breaker = this.breaker;
      if (breaker && !breaker.admit()) {
        done();
        throw new CircuitOpenError(`${this.resource.name}: circuit open after too many errors; failing fast`);
      }
      let state: EndpointHealth | undefined;
      try {
        const picked = this.balancer.pick(this.candidates(req.ctx.subset, req.ctx.triedEndpoints), hashKey(this.resource.hashOn, req.headers));
        if (!picked) throw this.noEndpoint(req.ctx.subset);
        req.ctx.endpoint = picked.endpoint;
        req.ctx.triedEndpoints?.push(picked.endpoint.instance);
        // The balancer picks among this.states (see candidates), so the pick is the endpoint's state.
        state = picked as EndpointHealth;
        state.inflight++;
      } catch (err) {
        breaker?.record(true);
        done();
        throw err;
      }
      const started = performance.now();
      const outliers = this.outliers;
      let res;
      try {
        res = await inner(req);
      } catch (err) {
        state.inflight--;
        outliers?.observe(state, { error: err });
        breaker?.record(true);
        done();
        throw err;
      }
      // Time to response headers: what PEAK_EWMA ranks endpoints by.
      observeLatency(state, performance.now() - started);
      outliers?.observe(state, { status: res.statusCode });
      const endpointState = state;
      onBodyDone(res, () => endpointState.inflight--);
      breaker?.record(res.statusCode >= 500);
      return onBodyDone(res, done);
    };
  }
}

/** An endpoint of the subset these labels select. */
function matches(e: Endpoint, labels: Record<string, string>): boolean {
  return Object.entries(labels).every(([k, v]) => e.labels[k] === v);
}
