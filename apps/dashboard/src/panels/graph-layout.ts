// Where the topology graph puts things: callers left of whom they call (columns by call depth from the gateway), each service's instances inside it.
import type { TopologyEdge, TopologyNode } from '@meshcart/control-plane-api';

const COLUMN_GAP = 300;
const INSTANCE_HEIGHT = 52;
const SERVICE_GAP = 70;

/**
 * Call depth of each service: the longest chain of calls from the gateway to it (so a service both the
 * gateway and order-service call sits right of order-service); services no traffic reached yet sit in
 * column 1. Capped at the number of nodes, so a cycle of calls cannot push a service off the page.
 */
export function depths(nodes: TopologyNode[], edges: TopologyEdge[]): Map<string, number> {
  const depth = new Map<string, number>([['gateway', 0]]);
  const cap = nodes.length;
  for (let changed = true, rounds = 0; changed && rounds < cap; rounds++) {
    changed = false;
    for (const e of edges) {
      const from = depth.get(e.source);
      if (from === undefined || e.target === 'gateway') continue;
      const to = Math.min(cap, from + 1);
      if ((depth.get(e.target) ?? -1) >= to) continue;
      depth.set(e.target, to);
      changed = true;
    }
  }
  for (const n of nodes) if (n.kind === 'service' && !depth.has(n.id)) depth.set(n.id, 1);
  return depth;
}

/** Positions of the gateway and every instance (a service's box is drawn around its instances). */
export function positions(nodes: TopologyNode[], edges: TopologyEdge[]): Map<string, { x: number; y: number }> {
  const depth = depths(nodes, edges);
  const out = new Map<string, { x: number; y: number }>();
  const columns = new Map<number, TopologyNode[]>();
  for (const n of nodes.filter((x) => x.kind === 'service')) {
    const d = depth.get(n.id) ?? 1;
    columns.set(d, [...(columns.get(d) ?? []), n]);
  }
  let tallest = 0;
  for (const [d, services] of columns) {
    let y = 0;
    for (const s of services) {
      const instances = nodes.filter((n) => n.kind === 'instance' && n.service === s.service);
      instances.forEach((inst, i) => out.set(inst.id, { x: d * COLUMN_GAP, y: y + i * INSTANCE_HEIGHT }));
      if (instances.length === 0) out.set(s.id, { x: d * COLUMN_GAP, y });
      y += Math.max(1, instances.length) * INSTANCE_HEIGHT + SERVICE_GAP;
    }
    tallest = Math.max(tallest, y);
  }
  out.set('gateway', { x: 0, y: Math.max(0, tallest / 2 - SERVICE_GAP) });
  return out;
}

/** A key that changes only when the graph's shape does: the layout is redone then, not on every snapshot. */
export const shapeKey = (nodes: TopologyNode[], edges: TopologyEdge[]) =>
  [...nodes.map((n) => n.id), '|', ...[...depths(nodes, edges)].map(([k, v]) => `${k}=${v}`).sort()].join(',');
