// What the one MeshCart image can run: a role per process, each with its entry and how to probe it.

export interface Role {
  /** Workspace path of the TypeScript entry the image bundles. */
  entry: string;
  summary: string;
  /** This role's readiness URL inside its own container, from its environment; none for one-shot commands. */
  health?: (env: NodeJS.ProcessEnv) => string;
}

const ready =
  (variable: string, fallback: number, path = '/readyz') =>
  (env: NodeJS.ProcessEnv) =>
    `http://127.0.0.1:${env[variable] ?? fallback}${path}`;

export const ROLES: Record<string, Role> = {
  'control-plane': {
    entry: 'apps/control-plane/src/main.ts',
    summary: 'registry, config push and certificate authority',
    health: ready('PORT', 15010),
  },
  gateway: { entry: 'apps/gateway/src/main.ts', summary: 'the public API: an edge proxy of the mesh', health: ready('PORT', 8080) },
  sidecar: {
    entry: 'apps/sidecar/src/main.ts',
    summary: "a service's proxy, in its network namespace",
    health: ready('ADMIN_PORT', 15000, '/ready'),
  },
  'user-service': { entry: 'apps/user-service/src/main.ts', summary: 'accounts and sessions', health: ready('PORT', 3001) },
  'product-service': { entry: 'apps/product-service/src/main.ts', summary: 'catalog and stock', health: ready('PORT', 3002) },
  'order-service': { entry: 'apps/order-service/src/main.ts', summary: 'orders (the place-order saga)', health: ready('PORT', 3003) },
  'payment-service': { entry: 'apps/payment-service/src/main.ts', summary: 'charges and refunds', health: ready('PORT', 3004) },
  meshctl: { entry: 'apps/meshctl/src/main.ts', summary: 'the mesh command line (MESHCTL_CONTROL_PLANE=http://control-plane:15010)' },
  load: { entry: 'load-tests/src/shop-load.ts', summary: 'shop traffic against a gateway (--target URL --rate N --duration S)' },
};
