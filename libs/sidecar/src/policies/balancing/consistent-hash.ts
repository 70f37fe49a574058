// Consistent hashing (a ring): the same key goes to the same endpoint, and few keys move when endpoints change.
import type { Balancer, EndpointState } from './balancer';

/** Points on the ring per unit of weight: enough to spread keys evenly over a handful of endpoints. */
const POINTS_PER_WEIGHT = 100;

/**
 * 32-bit FNV-1a, then MurmurHash3's finalizer: FNV alone spreads short, similar strings
 * ("a#1", "a#2") poorly over the ring; the finalizer mixes every input bit into every output bit.
 */
export function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export class ConsistentHash implements Balancer {
  private ringKey = '';
  private ring: { point: number; state: EndpointState }[] = [];

  constructor(private readonly random: () => number = Math.random) {}

  pick(endpoints: readonly EndpointState[], key?: string): EndpointState | undefined {
    if (endpoints.length <= 1) return endpoints[0];
    if (key === undefined) return endpoints[Math.floor(this.random() * endpoints.length)];
    const ring = this.ringFor(endpoints);
    const h = hash32(key);
    let lo = 0;
    let hi = ring.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (ring[mid]!.point < h) lo = mid + 1;
      else hi = mid;
    }
    return ring[lo % ring.length]!.state;
  }

  /** Rebuilt only when the set of endpoints changes. */
  private ringFor(endpoints: readonly EndpointState[]) {
    const key = endpoints.map((e) => `${e.endpoint.instance}:${e.endpoint.weight}`).join(',');
    if (key !== this.ringKey) {
      this.ring = endpoints
        .flatMap((state) =>
          Array.from({ length: POINTS_PER_WEIGHT * state.endpoint.weight }, (_, i) => ({ point: hash32(`${state.endpoint.instance}#${i}`), state })),
        )
        .sort((a, b) => a.point - b.point);
      this.ringKey = key;
    }
    return this.ring;
  }
}
