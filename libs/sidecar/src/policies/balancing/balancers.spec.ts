import type { Endpoint } from '@meshcart/mesh-config';
import { describe, expect, it } from 'vitest';
import type { EndpointState } from './balancer';
import { LeastRequest, RandomBalancer, RoundRobin } from './index';

const state = (instance: string, weight = 1, inflight = 0): EndpointState => ({
  endpoint: { instance, url: `http://${instance}`, weight, labels: {} } satisfies Endpoint,
  inflight,
});

function tally(pick: () => EndpointState | undefined, n: number): Record<string, number> {
  // n = 0 gives an empty tally to fill by hand.
  const out: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const e = pick()!;
    out[e.endpoint.instance] = (out[e.endpoint.instance] ?? 0) + 1;
  }
  return out;
}

describe('load balancers', () => {
  it('round robin takes turns in proportion to weight', () => {
    const eps = [state('a', 1), state('b', 3)];
    const rr = new RoundRobin();
    expect(tally(() => rr.pick(eps), 400)).toEqual({ a: 100, b: 300 });
  });

  it('least request prefers the endpoint with fewer requests in flight', () => {
    const eps = [state('busy', 1, 10), state('idle', 1, 0)];
    const lr = new LeastRequest();
    expect(tally(() => lr.pick(eps), 200)).toEqual({ idle: 200 });
  });

  it('least request compares load per unit of weight', () => {
    const eps = [state('big', 4, 4), state('small', 1, 2)];
    expect(new LeastRequest().pick(eps)?.endpoint.instance).toBe('big');
  });

  it('random follows weights', () => {
    let i = 0;
    const seq = [0.1, 0.3, 0.6, 0.9];
    const rnd = new RandomBalancer(() => seq[i++ % seq.length]!);
    expect(tally(() => rnd.pick([state('a', 1), state('b', 1)]), 4)).toEqual({ a: 2, b: 2 });
  });

  it('every balancer returns nothing when there are no endpoints', () => {
    for (const b of [new RoundRobin(), new LeastRequest(), new RandomBalancer()]) expect(b.pick([])).toBeUndefined();
  });
});

describe('peak EWMA and consistent hash', () => {
  it('peak EWMA prefers the endpoint with the lower latency × load', async () => {
    const { PeakEwma, observeLatency } = await import('./index');
    const slow = state('slow');
    const fast = state('fast');
    observeLatency(slow, 50);
    observeLatency(fast, 2);
    const b = new PeakEwma();
    expect(tally(() => b.pick([slow, fast]), 100)).toEqual({ fast: 100 });
    // A spike counts at once (the peak), however good the average was.
    observeLatency(fast, 500);
    expect(tally(() => b.pick([slow, fast]), 100)).toEqual({ slow: 100 });
  });

  it('consistent hash sends a key to the same endpoint, and moves few keys when one goes away', async () => {
    const { ConsistentHash } = await import('./index');
    const eps = ['a', 'b', 'c', 'd'].map((n) => state(n));
    const b = new ConsistentHash();
    const keys = Array.from({ length: 400 }, (_, i) => `user-${i}`);
    const first = new Map(keys.map((k) => [k, b.pick(eps, k)!.endpoint.instance]));
    for (const k of keys) expect(b.pick(eps, k)!.endpoint.instance).toBe(first.get(k));
    const spread = tally(() => undefined, 0);
    for (const v of first.values()) spread[v] = (spread[v] ?? 0) + 1;
    for (const n of ['a', 'b', 'c', 'd']) expect(spread[n]).toBeGreaterThan(40);
    const withoutD = eps.slice(0, 3);
    const moved = keys.filter((k) => first.get(k) !== 'd' && b.pick(withoutD, k)!.endpoint.instance !== first.get(k));
    expect(moved).toHaveLength(0);
  });
});
