import type { Endpoint } from '@meshcart/mesh-config';
import { describe, expect, it } from 'vitest';
import type { EndpointState } from './balancer';
import { LeastRequest, RandomBalancer, RoundRobin } from './index';

const state = (instance: string, weight = 1, inflight = 0): EndpointState => ({
  endpoint: { instance, url: `http://${instance}`, weight, labels: {} } satisfies Endpoint,
  inflight,
});

function tally(pick: () => EndpointState | undefined, n: number): Record<string, number> {
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
