// Lab 06: a slow and an unhealthy product replica; round robin versus least request, and outlier ejection (docs/labs/06-outlier-detection.md).
import type { MeshConfig } from '@meshcart/mesh-config';
import { atMost, equals, shown, verdict, type Lab } from './lab';
import { grew, type Scrape } from './lab-mesh';
import { startReplica, stopReplicas, type RunningReplica } from './lab-replicas';

const ID = '06-outlier-detection';
// Endpoints are listed by name, and round robin skips, on first tries, the replica listed after one whose
// tries are retried (the retry takes a turn): the unhealthy one is listed last, so the slow one keeps its turns.
const SLOW = 'product-service-slow-1';
const UNHEALTHY = 'product-service-unhealthy-1';
const DELAY_MS = 400;
/** Round robin gives the slow replica about 30% of the tries, the unhealthy one about 20% (its first tries only). */
const SLOW_GOAL = 15;
const UNHEALTHY_GOAL = 10;

const LB = 'spec.defaults.policy.loadBalancer.policy';
const OD = 'spec.defaults.policy.outlierDetection';

/** What product-service gets, as the config in force says: its own policy over the defaults. */
function effective(config: MeshConfig) {
  const own = config.spec.services['product-service']?.policy ?? {};
  const mesh = config.spec.defaults?.policy ?? {};
  return {
    lb: own.loadBalancer?.policy ?? mesh.loadBalancer?.policy ?? 'ROUND_ROBIN',
    lbWhere: own.loadBalancer?.policy ? 'spec.services.product-service.policy.loadBalancer.policy' : LB,
    od: own.outlierDetection ?? mesh.outlierDetection,
    odWhere: own.outlierDetection ? 'spec.services.product-service.policy.outlierDetection' : OD,
  };
}

const list = (counts: Record<string, number>) =>
  Object.entries(counts)
    .map(([k, n]) => `${k} ${n}`)
    .join(', ');

/** Tries the gateway sent to each product-service instance, as each instance's own proxy counted them. */
function triesByInstance(before: Scrape, after: Scrape): Map<string, number> {
  const tries = new Map<string, number>();
  for (const [instance, samples] of after)
    if (samples.some((s) => s.labels['proxy_service'] === 'product-service'))
      tries.set(
        instance,
        grew(before, after, 'mesh_requests_total', {
          direction: 'inbound',
          src_service: 'gateway',
          dst_service: 'product-service',
          proxy_instance: instance,
        }),
      );
  return tries;
}

export const outlierDetection: Lab = {
  id: ID,
  title: 'Outlier detection and load balancing: a slow and an unhealthy replica',
  minutes: 25,
  needs: 'npm start (the lab runs two extra product replicas of its own beside it)',

  async start(mesh) {
    const { config } = await mesh.config();
    const draft = structuredClone(config);
    draft.spec.defaults ??= {};
    draft.spec.defaults.policy ??= {};
    draft.spec.defaults.policy.loadBalancer = { policy: 'ROUND_ROBIN' };
    delete draft.spec.defaults.policy.outlierDetection;
    const product = draft.spec.services['product-service']?.policy;
    if (product) {
      delete product.loadBalancer;
      delete product.outlierDetection;
    }
    await mesh.apply(draft, `meshctl lab start ${ID}`);
    const replicas: RunningReplica[] = [];
    mesh.notes['replicas'] = replicas;
    try {
      mesh.progress(`starting ${SLOW}: product-service, every request held ${DELAY_MS} ms`);
      replicas.push(
        await startReplica(mesh, ID, { service: 'product-service', instance: SLOW, labels: { version: 'v1' }, app: 'delayed', delayMs: DELAY_MS }),
      );
      mesh.progress(`starting ${UNHEALTHY}: a sidecar whose app is gone`);
      replicas.push(await startReplica(mesh, ID, { service: 'product-service', instance: UNHEALTHY, labels: { version: 'v1' }, app: 'none' }));
    } catch (err) {
      await stopReplicas(mesh, replicas, (m) => mesh.progress(m));
      throw err;
    }
    return {
      changes: [
        `${LB}: ROUND_ROBIN (blind to how busy each replica is)`,
        `${OD}: removed (a replica that keeps failing stays in rotation)`,
        `${SLOW} (version v1, in the stable subset): product-service holding every request ${DELAY_MS} ms; metrics ${replicas[0]!.adminUrl}/metrics, log ${replicas[0]!.log}`,
        `${UNHEALTHY} (version v1, in the stable subset): a sidecar whose app is gone, answering 503; metrics ${replicas[1]!.adminUrl}/metrics, log ${replicas[1]!.log}`,
      ],
      config: draft,
    };
  },

  async check(mesh) {
    const browse = { concurrency: 8, next: (i: number) => ({ path: `/api/products/p-00${(i % 5) + 1}` }) };
    const first = await mesh.scrape();
    // A short warm-up: what the balancer and the detector learn from the first requests is part of the policy.
    await mesh.traffic({ ...browse, seconds: 2, label: 'warming up' });
    const before = await mesh.scrape();
    const traffic = await mesh.traffic({ ...browse, seconds: mesh.seconds(9), label: 'browsing the catalog through the gateway' });
    const after = await mesh.scrape();
    const tries = triesByInstance(before, after);
    const all = [...tries.values()].reduce((a, b) => a + b, 0);
    const share = (instance: string) => (all ? (tries.get(instance) ?? 0) / all : 1);
    const ejections = grew(first, after, 'mesh_outlier_ejections_total', { proxy_service: 'gateway', dst_service: 'product-service' });
    const retries = grew(before, after, 'mesh_retries_total', { proxy_service: 'gateway', dst_service: 'product-service' });
    const { config } = await mesh.config();
    const e = effective(config);
    const running = [SLOW, UNHEALTHY].filter((i) => after.has(i));
    return verdict(
      [
        equals('lab replicas running', running.length, 2),
        atMost(`share of tries on ${SLOW}`, 100 * share(SLOW), SLOW_GOAL, '%', 1),
        atMost(`share of tries on ${UNHEALTHY}`, 100 * share(UNHEALTHY), UNHEALTHY_GOAL, '%', 1),
        shown('tries per instance', list(Object.fromEntries([...tries].sort()))),
        shown('outlier ejections of product-service endpoints (gateway)', ejections, '', 0),
        shown('retries per request (gateway)', traffic.count ? retries / traffic.count : 0),
        shown('requests', traffic.count),
        shown('failed (5xx or no answer)', traffic.errorRate * 100, '%', 1),
        ...(Object.keys(traffic.byCode).length ? [shown('error codes', list(traffic.byCode))] : []),
        shown('requests per second', traffic.rps, '', 0),
        shown('p50 latency', traffic.p50Ms, 'ms'),
        shown('p99 latency', traffic.p99Ms, 'ms'),
        shown(e.lbWhere, e.lb),
        shown(e.odWhere, e.od ? JSON.stringify(e.od) : '(unset)'),
      ],
      (m) => {
        if (m.name === 'lab replicas running')
          return `${[SLOW, UNHEALTHY].filter((i) => !running.includes(i)).join(' and ')} not running (meshctl status): start the lab again (meshctl lab start ${ID})`;
        if (m.name.includes(SLOW))
          return (
            `${SLOW} got ${(share(SLOW) * 100).toFixed(0)}% of the tries (goal ≤ ${SLOW_GOAL}%): ${e.lbWhere} is ${e.lb}` +
            (e.lb === 'ROUND_ROBIN' || e.lb === 'RANDOM'
              ? ', which gives every replica its turn however long it takes; LEAST_REQUEST sends less to a replica with requests piling up'
              : '; the gateway still sends it its share')
          );
        return (
          `${UNHEALTHY} got ${(share(UNHEALTHY) * 100).toFixed(0)}% of the tries (goal ≤ ${UNHEALTHY_GOAL}%), ${ejections} ejections: ` +
          (e.od
            ? `${e.odWhere} is ${JSON.stringify(e.od)}; it ejects on consecutive errors (consecutiveGatewayErrors or consecutive5xxErrors) and for long enough (baseEjectionTimeMs)`
            : `${e.odWhere} is unset, so a replica that answers every request 503 stays in rotation` +
              (e.lb === 'LEAST_REQUEST' || e.lb === 'PEAK_EWMA' ? ` (and ${e.lb} favours it: it fails fast, so it has nothing in flight)` : ''))
        );
      },
    );
  },

  async solve(mesh) {
    await mesh.patch((c) => {
      c.spec.defaults ??= {};
      c.spec.defaults.policy ??= {};
      c.spec.defaults.policy.loadBalancer = { policy: 'LEAST_REQUEST' };
      c.spec.defaults.policy.outlierDetection = {
        consecutiveGatewayErrors: 5,
        intervalMs: 1000,
        baseEjectionTimeMs: 10_000,
        maxEjectionPercent: 50,
        minHealthPercent: 50,
      };
      const product = c.spec.services['product-service']?.policy;
      if (product) {
        delete product.loadBalancer;
        delete product.outlierDetection;
      }
    }, `meshctl lab solve ${ID}`);
    return [
      `${LB}: LEAST_REQUEST (two random replicas, the one with fewer requests in flight wins)`,
      `${OD}: eject after 5 consecutive gateway errors for 10 s × ejections, at most 50% out at once`,
    ];
  },

  async reset(mesh) {
    await stopReplicas(mesh, (mesh.notes['replicas'] as RunningReplica[] | undefined) ?? [], (m) => mesh.progress(m));
  },
};
