import { describe, expect, it } from 'vitest';
import { compileProxyResources, parseMeshConfig, type ConfigError } from './index';

const withEdge = (edgeRoutes: string) => `
apiVersion: meshcart.io/v1alpha1
kind: MeshConfig
metadata: { name: canary }
spec:
  services:
    product-service:
      policy:
        subsets: { stable: { version: v1 }, canary: { version: v2 } }
  edge:
    routes:
${edgeRoutes}
`;

const issues = (yaml: string) => {
  try {
    parseMeshConfig(yaml);
  } catch (err) {
    return (err as ConfigError).issues;
  }
  throw new Error('accepted');
};

describe('an edge route', () => {
  it('sends a header-matched canary route to one subset, and splits the rest by weight', () => {
    const config = parseMeshConfig(
      withEdge(`      - name: products-canary
        match: { pathPrefix: /api/products, headers: { x-canary: "true" } }
        service: product-service
        subset: canary
      - name: products
        match: { pathPrefix: /api/products }
        service: product-service
        split: [{ subset: stable, weight: 90 }, { subset: canary, weight: 10 }]`),
    );
    const { edgeRoutes, clusters } = compileProxyResources(config, 'gateway').resources;
    expect(edgeRoutes.map((r) => [r.name, r.split])).toEqual([
      ['products-canary', [{ subset: 'canary', weight: 100 }]],
      [
        'products',
        [
          { subset: 'stable', weight: 90 },
          { subset: 'canary', weight: 10 },
        ],
      ],
    ]);
    expect(clusters.find((c) => c.name === 'product-service')?.subsets).toEqual({ stable: { version: 'v1' }, canary: { version: 'v2' } });
  });

  it('is refused with an unknown subset, subset and split both, or weights not adding up to 100', () => {
    expect(
      issues(
        withEdge(`      - name: a
        match: { pathPrefix: /a }
        service: product-service
        subset: beta
      - name: b
        match: { pathPrefix: /b }
        service: product-service
        subset: stable
        split: [{ subset: stable, weight: 50 }, { subset: canary, weight: 40 }]`),
      ),
    ).toEqual([
      { path: 'spec.edge.routes[0].subset', message: 'unknown subset "beta" of product-service; defined: stable, canary' },
      { path: 'spec.edge.routes[1].split', message: 'set subset or split, not both' },
      { path: 'spec.edge.routes[1].split', message: 'weights must add up to 100, not 90' },
    ]);
  });
});
