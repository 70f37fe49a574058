// Peak-EWMA (Finagle, Linkerd): two random endpoints, the one with the lower latency × load wins.
import type { Balancer, EndpointState } from './balancer';
import { pickOfTwo } from './two-choices';

/** How fast old latency is forgotten: an observation's weight halves in about 7 s. */
const DECAY_MS = 10_000;
/** What an endpoint with no observations yet is assumed to cost, so new endpoints get tried. */
const UNKNOWN_MS = 1;

/**
 * Records a response time. A slower sample replaces the average at once (the "peak"), so a replica
 * that slows down is avoided immediately; faster samples pull it down gradually.
 */
export function observeLatency(state: EndpointState, ms: number, now = Date.now()): void {
  if (state.ewmaMs === undefined || ms > state.ewmaMs) {
    state.ewmaMs = ms;
  } else {
    const w = Math.exp(-(now - (state.ewmaAt ?? now)) / DECAY_MS);
    state.ewmaMs = state.ewmaMs * w + ms * (1 - w);
  }
  state.ewmaAt = now;
}

/** Expected latency × load, per unit of weight. (Module-level: no closure per pick.) */
const cost = (e: EndpointState) => ((e.ewmaMs ?? UNKNOWN_MS) * (e.inflight + 1)) / e.endpoint.weight;

export class PeakEwma implements Balancer {
  constructor(private readonly random: () => number = Math.random) {}

  pick(endpoints: readonly EndpointState[]): EndpointState | undefined {
    return pickOfTwo(endpoints, cost, this.random);
  }
}
