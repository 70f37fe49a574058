// Lab 07: a canary release of product-service v2: testers by header, then 10% of everyone, at the gateway and between services (docs/labs/07-canary-release.md).
import { EndpointsSnapshot, type EdgeRoute, type MeshConfig, type Route, type RouteMatch } from '@meshcart/mesh-config';
import { ContractCheck } from '@meshcart/control-plane-api';
import { round, shown, verdict, type Lab, type Measured } from './lab';
import type { LabMesh } from './lab-mesh';

const ID = '07-canary-release';
const SERVICE = 'product-service';
const HEADER = { 'x-canary': 'true' };
/** About 10% to the canary: 300 answers put a 10% split within 5–20% with room to spare (±1.7% is one sd). */
const LOW = 5;
const HIGH = 20;
const ENOUGH = 300;
const FIFTY_FIFTY = [
  { subset: 'stable', weight: 50 },
  { subset: 'canary', weight: 50 },
];
const NINETY_TEN = [
  { subset: 'stable', weight: 90 },
  { subset: 'canary', weight: 10 },
];

const endpointsSnapshot = new ContractCheck(EndpointsSnapshot);

type Routed = Pick<Route, 'name' | 'match' | 'subset' | 'split'>;

/** As the proxies match: method, exact path or whole-segment prefix, exact header values. */
function matches(m: RouteMatch, method: string, path: string, headers: Record<string, string>): boolean {
  if (m.methods && !m.methods.includes(method as never)) return false;
  if (m.headers && !Object.entries(m.headers).every(([k, v]) => headers[k] === v)) return false;
  if (m.pathExact !== undefined) return path === m.pathExact;
  const prefix = m.pathPrefix ?? '/';
  return prefix === '/' || path === prefix || path.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`);
}

function firstMatch<T extends Routed>(routes: T[], path: string, headers: Record<string, string> = {}): { route: T; index: number } | undefined {
  const index = routes.findIndex((r) => matches(r.match, 'GET', path, headers));
  return index < 0 ? undefined : { route: routes[index]!, index };
}

/** Where a matched route sends requests, in words: `split stable 50 / canary 50`, `subset stable`, `every replica`. */
const target = (r: Routed | undefined) =>
  r?.split ? `split ${r.split.map((s) => `${s.subset} ${s.weight}`).join(' / ')}` : r?.subset ? `subset ${r.subset}` : 'every replica, v2 included';

/** The share of v2 answers a route gives, from its subsets and the endpoints each selects. */
async function canaryPercent(mesh: LabMesh, config: MeshConfig, route: Routed | undefined): Promise<number> {
  const endpoints = (await mesh.api.call('GET', '/api/v1/endpoints', endpointsSnapshot)).clusters[SERVICE] ?? [];
  const subsets = config.spec.services[SERVICE]?.policy?.subsets ?? {};
  const v2In = (labels: Record<string, string> | undefined) => {
    const selected = endpoints.filter((e) => Object.entries(labels ?? {}).every(([k, v]) => e.labels[k] === v));
    return selected.length ? selected.filter((e) => e.labels['version'] === 'v2').length / selected.length : 0;
  };
  const split = route?.split ?? (route?.subset ? [{ subset: route.subset, weight: 100 }] : undefined);
  if (!split) return 100 * v2In(undefined);
  return split.reduce((sum, s) => sum + s.weight * v2In(subsets[s.subset]), 0);
}

function between(name: string, value: number, unit = '%'): Measured {
  return { name, value: round(value, 1), unit, goal: `${LOW}–${HIGH} ${unit}`, ok: value >= LOW && value <= HIGH };
}

/** Catalog answers by version until `enough` carry one (or time runs out). */
async function versions(mesh: LabMesh, seconds: number, headers: Record<string, string>, label: string, enough: number) {
  const byVersion: Record<string, number> = {};
  let count = 0;
  let errors = 0;
  let p99 = 0;
  for (let pass = 0; pass < 4; pass++) {
    const t = await mesh.traffic({
      seconds: pass === 0 ? seconds : mesh.seconds(3),
      concurrency: 4,
      label,
      next: (i) => ({ path: `/api/products/p-00${(i % 5) + 1}`, headers }),
    });
    for (const [v, n] of Object.entries(t.seen['x-product-version'] ?? {})) byVersion[v] = (byVersion[v] ?? 0) + n;
    count += t.count;
    errors += Math.round(t.errorRate * t.count);
    p99 = Math.max(p99, t.p99Ms);
    const answered = Object.values(byVersion).reduce((a, b) => a + b, 0);
    if (answered >= enough) break;
  }
  const answered = Object.values(byVersion).reduce((a, b) => a + b, 0);
  return { byVersion, answered, count, errors, p99, v2: answered ? (100 * (byVersion['v2'] ?? 0)) / answered : 0 };
}

const isProducts = (r: EdgeRoute) => r.service === SERVICE && !r.match.headers;

export const canaryRelease: Lab = {
  id: ID,
  title: 'Canary release: header first, then 10%, at the gateway and between services',
  minutes: 20,
  needs: 'npm start',

  async start(mesh) {
    const { config } = await mesh.config();
    const draft = structuredClone(config);
    const product = (draft.spec.services[SERVICE] ??= {});
    product.policy = { ...product.policy, subsets: { ...product.policy?.subsets, stable: { version: 'v1' }, canary: { version: 'v2' } } };
    // The release went out as a coin toss for everyone, and the testers' header routes went with it.
    product.routes = (product.routes ?? []).filter((r) => !r.match.headers);
    if (product.routes.length === 0) product.routes.push({ name: 'everyone', match: { pathPrefix: '/' } });
    for (const r of product.routes) {
      delete r.subset;
      r.split = structuredClone(FIFTY_FIFTY);
    }
    if (draft.spec.edge) {
      draft.spec.edge.routes = draft.spec.edge.routes.filter((r) => !(r.service === SERVICE && r.match.headers));
      for (const r of draft.spec.edge.routes.filter(isProducts)) {
        delete r.subset;
        r.split = structuredClone(FIFTY_FIFTY);
      }
    }
    await mesh.apply(draft, `meshctl lab start ${ID}`);
    return {
      changes: [
        'spec.edge.routes: the product routes split stable 50 / canary 50; the x-canary: true route is gone',
        `spec.services.${SERVICE}.routes: every route splits stable 50 / canary 50; the x-canary: true route is gone`,
      ],
      config: draft,
    };
  },

  async check(mesh) {
    const everyone = await versions(mesh, mesh.seconds(9), {}, 'browsing the catalog through the gateway', ENOUGH);
    const testers = await versions(mesh, mesh.seconds(3), HEADER, 'browsing as a tester (x-canary: true)', 50);
    const { config } = await mesh.config();
    const edgeRoutes = config.spec.edge?.routes ?? [];
    const edge = firstMatch(edgeRoutes, '/api/products/p-001');
    const edgeTesters = firstMatch(edgeRoutes, '/api/products/p-001', HEADER);
    const internalRoutes = config.spec.services[SERVICE]?.routes ?? [];
    const internal = firstMatch(internalRoutes, '/products/p-001');
    const internalPercent = await canaryPercent(mesh, config, internal?.route);
    const where = (m: { route: Routed; index: number } | undefined, path: string) =>
      m ? `${path}[${m.index}] (${m.route.name}: ${target(m.route)})` : `no route of ${path} (${target(undefined)})`;
    const testersV2 = testers.answered ? (100 * (testers.byVersion['v2'] ?? 0)) / testers.answered : 0;
    return verdict(
      [
        between('catalog answers from v2 (gateway)', everyone.v2),
        // Every one of them, not 99.9% rounded up.
        {
          name: 'answers to x-canary: true from v2 (gateway)',
          value: `${testersV2 === 100 ? 100 : Math.min(99.9, round(testersV2, 1))} %`,
          goal: '= 100 %',
          ok: testers.answered > 0 && testersV2 === 100,
        },
        between(`order-service → ${SERVICE}: share to v2 (routes in force)`, internalPercent),
        shown(
          'answers by version',
          Object.entries(everyone.byVersion)
            .map(([v, n]) => `${v} ${n}`)
            .join(', '),
        ),
        shown(
          'tester answers by version',
          Object.entries(testers.byVersion)
            .map(([v, n]) => `${v} ${n}`)
            .join(', '),
        ),
        shown('failed (5xx or no answer)', (100 * (everyone.errors + testers.errors)) / Math.max(1, everyone.count + testers.count), '%', 1),
        shown('p99 latency', everyone.p99, 'ms'),
        shown('gateway route for GET /api/products/…', edge ? `${edge.route.name}: ${target(edge.route)}` : '(none)'),
        shown(
          `${SERVICE} route for GET /products/…`,
          internal ? `${internal.route.name}: ${target(internal.route)}` : `default: ${target(undefined)}`,
        ),
      ],
      (m) => {
        if (m.name.startsWith('catalog'))
          return everyone.answered < ENOUGH
            ? `only ${everyone.answered} catalog answers carried a version (need ${ENOUGH}): is the mesh healthy? (meshctl stat)`
            : `${everyone.v2.toFixed(1)}% of the catalog answers came from v2 (goal ${LOW}–${HIGH}%, about 10%): ` +
                `${where(edge, 'spec.edge.routes')}; ${everyone.v2 > HIGH ? 'too much for a first canary' : 'the canary gets too little to learn from'}: ` +
                `split: [{ subset: stable, weight: 90 }, { subset: canary, weight: 10 }]`;
        if (m.name.startsWith('answers to x-canary'))
          return (
            `${testersV2.toFixed(1)}% of the x-canary: true answers came from v2 (goal 100%): they match ${where(edgeTesters, 'spec.edge.routes')}; ` +
            'testers need a route matching headers: { x-canary: "true" } with subset: canary, before the split route'
          );
        return (
          `calls between services (order-service → ${SERVICE}) give v2 ${internalPercent.toFixed(0)}% (goal ${LOW}–${HIGH}%): they match ` +
          `${where(internal, `spec.services.${SERVICE}.routes`)}; the gateway's edge routes do not decide these calls`
        );
      },
    );
  },

  async solve(mesh) {
    await mesh.patch((c) => {
      const product = (c.spec.services[SERVICE] ??= {});
      product.policy = { ...product.policy, subsets: { ...product.policy?.subsets, stable: { version: 'v1' }, canary: { version: 'v2' } } };
      const routes = (product.routes ?? []).filter((r) => !r.match.headers);
      for (const r of routes) {
        delete r.subset;
        r.split = structuredClone(NINETY_TEN);
      }
      if (routes.length === 0) routes.push({ name: 'everyone', match: { pathPrefix: '/' }, split: structuredClone(NINETY_TEN) });
      product.routes = [{ name: 'canary', match: { pathPrefix: '/', headers: HEADER }, subset: 'canary' }, ...routes];
      if (c.spec.edge) {
        const edge = c.spec.edge.routes.filter((r) => !(r.service === SERVICE && r.match.headers));
        const first = edge.findIndex(isProducts);
        for (const r of edge.filter(isProducts)) {
          delete r.subset;
          r.split = structuredClone(NINETY_TEN);
        }
        if (first >= 0) {
          const { name: _name, split: _split, ...products } = edge[first]!;
          edge.splice(first, 0, { ...products, name: 'products-canary', match: { ...products.match, headers: HEADER }, subset: 'canary' });
        }
        c.spec.edge.routes = edge;
      }
    }, `meshctl lab solve ${ID}`);
    return [
      'spec.edge.routes: products-canary (x-canary: true → subset canary), then products split stable 90 / canary 10',
      `spec.services.${SERVICE}.routes: canary (x-canary: true → subset canary), then the rest split stable 90 / canary 10`,
    ];
  },
};
