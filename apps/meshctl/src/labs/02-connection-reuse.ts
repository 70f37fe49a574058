// Lab 02: one request per connection versus pooled keep-alive, the case's biggest knob (docs/labs/02-connection-reuse.md).
import type { MeshConfig } from '@meshcart/mesh-config';
import { atMost, shown, verdict, type Lab } from './lab';
import { grew } from './lab-mesh';

const KNOB = 'spec.defaults.policy.connectionPool.maxRequestsPerConnection';
/** Pooled: a handful of connections per proxy and endpoint for the whole run, so far below one per request. */
const GOAL = 0.05;

/** Where a config limits requests per connection: the default, and any service that sets its own. */
function limits(config: MeshConfig): { where: string; value: number | undefined }[] {
  return [
    { where: KNOB, value: config.spec.defaults?.policy?.connectionPool?.maxRequestsPerConnection },
    ...Object.entries(config.spec.services).map(([name, s]) => ({
      where: `spec.services.${name}.policy.connectionPool.maxRequestsPerConnection`,
      value: s.policy?.connectionPool?.maxRequestsPerConnection,
    })),
  ].filter((l) => l.value !== undefined);
}

export const connectionReuse: Lab = {
  id: '02-connection-reuse',
  title: 'Connection reuse: one request per connection versus pooled keep-alive',
  minutes: 15,
  needs: 'npm start',

  async start(mesh) {
    const { config } = await mesh.config();
    const draft = structuredClone(config);
    draft.spec.defaults ??= {};
    draft.spec.defaults.policy ??= {};
    draft.spec.defaults.policy.connectionPool = { ...draft.spec.defaults.policy.connectionPool, maxRequestsPerConnection: 1 };
    await mesh.apply(draft, 'meshctl lab start 02-connection-reuse');
    return {
      changes: [`${KNOB}: 1 (every call opens a new TCP connection and a new mTLS handshake)`],
      config: draft,
    };
  },

  async check(mesh) {
    const seconds = mesh.seconds(9);
    const before = await mesh.scrape();
    const traffic = await mesh.traffic({
      seconds,
      concurrency: 4,
      label: 'browsing the catalog through the gateway',
      next: (i) => ({ path: `/api/products/p-00${(i % 5) + 1}` }),
    });
    const after = await mesh.scrape();
    const opened = grew(before, after, 'mesh_tcp_connections_opened_total');
    const handshakes = grew(before, after, 'mesh_tls_handshakes_total');
    const perRequest = traffic.count ? opened / traffic.count : Infinity;
    const { config } = await mesh.config();
    const set = limits(config);
    return verdict(
      [
        atMost('upstream connections opened per request', perRequest, GOAL),
        shown('mTLS handshakes per request', traffic.count ? handshakes / traffic.count : 0),
        shown('requests', traffic.count),
        shown('requests per second', traffic.rps, '', 0),
        shown('mean latency', traffic.meanMs, 'ms'),
        shown('p99 latency', traffic.p99Ms, 'ms'),
        shown(KNOB, String(config.spec.defaults?.policy?.connectionPool?.maxRequestsPerConnection ?? '(unset: 0)')),
      ],
      () => {
        const capped = set.filter((l) => l.value !== 0 && (l.value ?? 0) < 100);
        return (
          `the proxies opened ${perRequest.toFixed(2)} connections per request (goal ≤ ${GOAL}): connections are not being reused` +
          (capped.length
            ? `; ${capped.map((l) => `${l.where} is ${l.value}`).join(', ')} (0 keeps a connection for any number of requests)`
            : '; is the config you applied in force? (meshctl status: every proxy ACKed)')
        );
      },
    );
  },

  async solve(mesh) {
    await mesh.patch((c) => {
      c.spec.defaults ??= {};
      c.spec.defaults.policy ??= {};
      c.spec.defaults.policy.connectionPool = { ...c.spec.defaults.policy.connectionPool, maxRequestsPerConnection: 0, idleTimeoutMs: 60_000 };
      for (const s of Object.values(c.spec.services)) if (s.policy?.connectionPool) delete s.policy.connectionPool.maxRequestsPerConnection;
    }, 'meshctl lab solve 02-connection-reuse');
    return [`${KNOB}: 0 (keep connections open), idleTimeoutMs: 60000`];
  },
};
