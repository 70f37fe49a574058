// The topology as a graph (cytoscape): the gateway, each service boxing its instances, an edge per caller → callee, coloured by health.
import type { DashboardSnapshot, TopologyNode } from '@meshcart/control-plane-api';
import cytoscape, { type Core, type ElementDefinition } from 'cytoscape';
import { useEffect, useRef } from 'preact/hooks';
import { HEALTH_COLOUR, pct, ms, rps, statsLine } from '../format';
import { positions, shapeKey } from './graph-layout';

const STYLE: cytoscape.StylesheetJson = [
  {
    selector: 'node',
    style: {
      label: 'data(label)',
      'text-wrap': 'wrap',
      'font-size': 11,
      'font-family': 'system-ui, sans-serif',
      'text-valign': 'center',
      'text-halign': 'center',
      color: '#ffffff',
      shape: 'round-rectangle',
      width: 190,
      height: 40,
      'background-color': 'data(colour)',
    },
  },
  {
    selector: 'node[kind = "service"]',
    style: {
      'text-valign': 'top',
      'text-margin-y': -4,
      color: '#1c2430',
      'font-size': 12,
      'font-weight': 'bold',
      'background-color': '#f3f5f8',
      'border-width': 3,
      'border-color': 'data(colour)',
      padding: '10px',
    },
  },
  {
    selector: 'edge',
    style: {
      label: 'data(label)',
      'font-size': 10,
      'font-family': 'system-ui, sans-serif',
      color: '#1c2430',
      'text-background-color': '#ffffff',
      'text-background-opacity': 0.9,
      'text-background-padding': '2px',
      width: 'data(width)',
      'line-color': 'data(colour)',
      'target-arrow-color': 'data(colour)',
      'target-arrow-shape': 'triangle',
      'curve-style': 'bezier',
    },
  },
];

const nodeLabel = (n: TopologyNode) => {
  const name = n.kind === 'instance' ? `${n.instance}${n.version ? ` (${n.version})` : ''}` : n.service;
  return n.stats.rps === 0 ? `${name}\nidle` : `${name}\n${rps(n.stats)} · ${pct(n.stats.successRate)} · p99 ${ms(n.stats.p99Ms)}`;
};

function elements(s: DashboardSnapshot): ElementDefinition[] {
  const nodes: ElementDefinition[] = s.nodes.map((n) => ({
    group: 'nodes',
    data: {
      id: n.id,
      kind: n.kind,
      label: nodeLabel(n),
      colour: HEALTH_COLOUR[n.health],
      ...(n.kind === 'instance' ? { parent: `service:${n.service}` } : {}),
    },
  }));
  const edges: ElementDefinition[] = s.edges.map((e) => ({
    group: 'edges',
    data: {
      id: e.id,
      source: e.source,
      target: e.target,
      label: statsLine(e.stats),
      colour: HEALTH_COLOUR[e.health],
      width: Math.min(8, 1.5 + Math.log10(1 + e.stats.rps) * 2),
    },
  }));
  return [...nodes, ...edges];
}

export function TopologyGraph({ snapshot }: { snapshot: DashboardSnapshot }) {
  const box = useRef<HTMLDivElement>(null);
  const cy = useRef<Core | undefined>(undefined);
  const shape = useRef('');

  useEffect(() => {
    cy.current = cytoscape({ container: box.current, style: STYLE, userZoomingEnabled: false, boxSelectionEnabled: false, autoungrabify: true });
    return () => cy.current?.destroy();
  }, []);

  useEffect(() => {
    const c = cy.current;
    if (!c) return;
    const key = shapeKey(snapshot.nodes, snapshot.edges);
    const els = elements(snapshot);
    if (key !== shape.current || c.elements().length !== els.length) {
      // The graph's shape changed: rebuild it and lay it out again.
      shape.current = key;
      c.elements().remove();
      c.add(els);
      const at = positions(snapshot.nodes, snapshot.edges);
      c.layout({ name: 'preset', positions: Object.fromEntries(at), fit: true, padding: 40 }).run();
    } else {
      // Same shape: only the numbers and colours move.
      c.batch(() => {
        for (const el of els) c.getElementById(el.data.id!).data(el.data);
      });
    }
  }, [snapshot]);

  const summary = `Topology: ${snapshot.nodes.filter((n) => n.kind !== 'instance').length} services and gateway, ${snapshot.edges.length} edges with traffic. The tables below hold the same figures.`;
  return (
    <div
      ref={box}
      class="graph"
      role="img"
      aria-label={summary}
      data-testid="topology-graph"
      data-nodes={snapshot.nodes.length}
      data-edges={snapshot.edges.length}
    />
  );
}
