import type { TopologyEdge, TopologyNode } from '@meshcart/control-plane-api';
import { describe, expect, it } from 'vitest';
import { depths, positions } from './graph-layout';

const idle = { stats: { rps: 1, successRate: 1, p50Ms: 1, p99Ms: 1 }, health: 'healthy' as const };
const service = (name: string): TopologyNode => ({ id: `service:${name}`, kind: 'service', service: name, ...idle });
const instance = (name: string, n: number): TopologyNode => ({
  id: `instance:${name}-${n}`,
  kind: 'instance',
  service: name,
  instance: `${name}-${n}`,
  ...idle,
});
const edge = (a: string, b: string): TopologyEdge => ({
  id: `edge:${a}>${b}`,
  source: a === 'gateway' ? a : `service:${a}`,
  target: `service:${b}`,
  ...idle,
});

describe('the graph layout', () => {
  it('puts each service one column right of its furthest caller, and services without traffic in column 1', () => {
    const nodes = [service('order'), service('product'), service('payment'), service('quiet')];
    const edges = [edge('gateway', 'order'), edge('gateway', 'product'), edge('order', 'product'), edge('order', 'payment')];
    expect(Object.fromEntries(depths(nodes, edges))).toEqual({
      gateway: 0,
      'service:order': 1,
      'service:product': 2,
      'service:payment': 2,
      'service:quiet': 1,
    });
  });

  it('keeps a cycle of calls on the page', () => {
    const nodes = [service('a'), service('b')];
    const d = depths(nodes, [edge('gateway', 'a'), edge('a', 'b'), edge('b', 'a')]);
    expect(Math.max(...d.values())).toBeLessThanOrEqual(nodes.length);
  });

  it('stacks a service’s instances in its column', () => {
    const nodes = [service('product'), instance('product', 1), instance('product', 2)];
    const at = positions(nodes, [edge('gateway', 'product')]);
    expect(at.get('instance:product-1')!.x).toBe(at.get('instance:product-2')!.x);
    expect(at.get('instance:product-2')!.y).toBeGreaterThan(at.get('instance:product-1')!.y);
    expect(at.get('gateway')!.x).toBeLessThan(at.get('instance:product-1')!.x);
  });
});
