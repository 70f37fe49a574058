// Lab 01: the same catalog call with the mesh off, through a sidecar, and proxyless; what each proxy on the path adds (docs/labs/01-sidecar-tax.md).
import { ContractCheck, JoinCreated, JoinRevoked, type JoinCreateBody } from '@meshcart/control-plane-api';
import type { EdgeRoute, MeshConfig } from '@meshcart/mesh-config';
import { dirname, join } from 'node:path';
import { atLeast, atMost, equals, round, shown, verdict, type Lab } from './lab';
import { grew, type LabMesh, type Scrape } from './lab-mesh';
import { freePort, isRunning, startProcess, stopProcess, waitUntilOk, type LabProcess } from './lab-processes';
import { labDir } from './lab-state';
import { drive, type TrafficReport } from './traffic';

const ID = '01-sidecar-tax';
const SERVICE = 'product-service';
const ENTRY = 'apps/product-service/src/main.ts';
/** The proxyless instance's label, and the subset start adds for it: no shipped route selects it. */
const LAB_LABEL = 'lab';
const OFF_LABEL = 'lab-off';
/** The header that picks a path through the gateway, whatever the catalog route does. */
const PATH_HEADER = 'x-lab-path';
const KNOB = 'spec.edge.routes[products].subset';

interface Notes {
  processes?: LabProcess[];
  joinCredential?: string;
  offUrl?: string;
}

const joinCreated = new ContractCheck(JoinCreated);
const joinRevoked = new ContractCheck(JoinRevoked);
const product = (i: number) => `p-00${(i % 5) + 1}`;

/** The starting config: a subset for the proxyless instance, and two header routes that measure each path. */
function withLabRoutes(config: MeshConfig): MeshConfig {
  const draft = structuredClone(config);
  const svc = (draft.spec.services[SERVICE] ??= {});
  svc.policy ??= {};
  svc.policy.subsets = { ...svc.policy.subsets, [LAB_LABEL]: { version: LAB_LABEL } };
  const stable = Object.entries(svc.policy.subsets).find(([, labels]) => labels['version'] === 'v1')?.[0] ?? 'stable';
  const measuring = (path: 'sidecar' | 'proxyless', subset: string): EdgeRoute => ({
    name: `lab-${path}`,
    match: { pathPrefix: '/api/products', methods: ['GET', 'HEAD'], headers: { [PATH_HEADER]: path } },
    service: SERVICE,
    rewritePrefix: '/products',
    subset,
  });
  const shop = (draft.spec.edge?.routes ?? []).filter((r) => !r.name.startsWith('lab-'));
  draft.spec.edge = { routes: [measuring('sidecar', stable), measuring('proxyless', LAB_LABEL), ...shop] };
  return draft;
}

/** Routes to the service that would balance over every instance of it, the lab's too. */
function unselective(config: MeshConfig): string[] {
  return [
    ...(config.spec.edge?.routes ?? []).filter((r) => r.service === SERVICE && !r.subset && !r.split).map((r) => `edge route ${r.name}`),
    ...(config.spec.services[SERVICE]?.routes ?? []).filter((r) => !r.subset && !r.split).map((r) => `${SERVICE} route ${r.name}`),
  ];
}

/** Sidecar proxies only (not the gateway, not the proxyless instance's in-process mesh). */
async function sidecarsOnly(mesh: LabMesh, scrape: Scrape): Promise<Scrape> {
  const sidecars = new Set((await mesh.proxies()).filter((p) => p.mode === 'sidecar').map((p) => p.instance));
  return new Map([...scrape].filter(([instance]) => sidecars.has(instance)));
}

async function stopAll(mesh: LabMesh, notes: Notes): Promise<void> {
  for (const p of notes.processes ?? []) {
    mesh.progress(`stopping ${p.name} (pid ${p.pid})`);
    await stopProcess(p);
  }
  notes.processes = [];
  if (notes.joinCredential) {
    await mesh.api.call('POST', '/api/v1/join-credentials/revoke', joinRevoked, { id: notes.joinCredential }).catch(() => undefined);
    delete notes.joinCredential;
  }
}

export const sidecarTax: Lab = {
  id: ID,
  title: 'The sidecar tax: the same call with the mesh off, through a sidecar, and proxyless',
  minutes: 20,
  needs: 'npm start; the lab starts two more product-service instances (mesh off, proxyless)',

  async start(mesh) {
    const notes = mesh.notes as Notes;
    if (!(await mesh.proxies()).some((p) => p.service === SERVICE && p.mode === 'sidecar'))
      throw new Error(`lab ${ID} compares against ${SERVICE}'s sidecars, and it has none: run the mesh in sidecar mode (npm start, no --mode)`);
    const created = await mesh.api.call('POST', '/api/v1/join-credentials', joinCreated, { service: SERVICE } satisfies JoinCreateBody);
    notes.joinCredential = created.credential.id;
    notes.processes = [];
    try {
      const dir = labDir(process.env);
      const [offPort, offAdmin, appPort, adminPort, inboundPort] = await Promise.all([freePort(), freePort(), freePort(), freePort(), freePort()]);
      const common = {
        HOST: '127.0.0.1',
        LOG_LEVEL: 'warn',
        // The shop's data folder (as npm start has it), so the lab's instances serve the same catalog.
        DATA_DIR: dirname(dir),
        MESH_CONTROL_PLANE_URLS: mesh.api.baseUrl,
        MESH_JOIN_TOKEN: created.token,
      };
      mesh.progress(`starting ${SERVICE}-lab-off (mesh off) and ${SERVICE}-lab-proxyless (proxyless)`);
      const off = startProcess(
        `${SERVICE}-lab-off`,
        ENTRY,
        {
          ...common,
          PORT: String(offPort),
          MESH_MODE: 'off',
          MESH_INSTANCE: `${SERVICE}-lab-off`,
          MESH_LABELS: `version=${OFF_LABEL}`,
          MESH_ADMIN_PORT: String(offAdmin),
        },
        join(dir, ID, 'product-service-lab-off.log'),
      );
      notes.processes.push(off);
      const proxyless = startProcess(
        `${SERVICE}-lab-proxyless`,
        ENTRY,
        {
          ...common,
          PORT: String(appPort),
          MESH_MODE: 'proxyless',
          MESH_INSTANCE: `${SERVICE}-lab-proxyless`,
          MESH_LABELS: `version=${LAB_LABEL}`,
          MESH_ADMIN_PORT: String(adminPort),
          MESH_INBOUND_PORT: String(inboundPort),
        },
        join(dir, ID, 'product-service-lab-proxyless.log'),
      );
      notes.processes.push(proxyless);
      notes.offUrl = `http://127.0.0.1:${offPort}`;
      await Promise.all([
        waitUntilOk(off, `${notes.offUrl}/readyz`),
        // Config in force and a workload certificate in hand.
        waitUntilOk(proxyless, `http://127.0.0.1:${adminPort}/ready`),
      ]);
      const draft = withLabRoutes((await mesh.config()).config);
      await mesh.apply(draft, `meshctl lab start ${ID}`);
      await waitForPath(mesh, 'proxyless');
      return {
        changes: [
          `${SERVICE}-lab-off: the same app with MESH_MODE=off at ${notes.offUrl} (no proxy at all; pid ${off.pid})`,
          `${SERVICE}-lab-proxyless: the same app with MESH_MODE=proxyless, labels version=${LAB_LABEL} (mTLS and policies in-process, metrics at http://127.0.0.1:${adminPort}/metrics; pid ${proxyless.pid})`,
          `spec.services.${SERVICE}.policy.subsets.${LAB_LABEL}: { version: ${LAB_LABEL} } (no shipped route selects it)`,
          `spec.edge.routes lab-sidecar and lab-proxyless: header ${PATH_HEADER}: sidecar|proxyless picks the path`,
          `the catalog (${KNOB}) still goes through the v1 replicas' sidecars`,
          ...unselective(draft).map((r) => `note: ${r} names no subset, so the lab's instances take a share of its calls`),
        ],
        config: draft,
      };
    } catch (err) {
      await stopAll(mesh, notes);
      throw err;
    }
  },

  async check(mesh) {
    const notes = mesh.notes as Notes;
    const gone = (notes.processes ?? []).filter((p) => !isRunning(p));
    if (gone.length) throw new Error(`${gone.map((p) => p.name).join(', ')} stopped (see ${gone[0]!.log}): run meshctl lab start ${ID} again`);

    const before = await mesh.scrape();
    const catalog = await mesh.traffic({
      seconds: mesh.seconds(6),
      concurrency: 4,
      label: 'the catalog through the gateway',
      next: (i) => ({ path: `/api/products/${product(i)}` }),
    });
    const after = await mesh.scrape();
    const sidecarHops = grew(await sidecarsOnly(mesh, before), await sidecarsOnly(mesh, after), 'mesh_requests_total', {
      direction: 'inbound',
      src_service: 'gateway',
    });
    const hopsPerRequest = catalog.count ? sidecarHops / catalog.count : Infinity;
    const ok = catalog.count ? (catalog.byStatus['200'] ?? 0) / catalog.count : 0;

    // The same call three ways, one caller at a time: latency without queueing.
    const seconds = mesh.seconds(4);
    const one = (label: string, baseUrl: string, headers: Record<string, string>, prefix: string) =>
      drive({
        baseUrl,
        seconds,
        concurrency: 1,
        label,
        progress: (m) => mesh.progress(m),
        next: (i) => ({ path: `${prefix}/${product(i)}`, headers }),
      });
    const off = await one('mesh off: straight to the app', notes.offUrl!, {}, '/products');
    const proxyless = await one('gateway → proxyless app', mesh.gatewayUrl, { [PATH_HEADER]: 'proxyless' }, '/api/products');
    const sidecar = await one('gateway → sidecar → app', mesh.gatewayUrl, { [PATH_HEADER]: 'sidecar' }, '/api/products');

    const { config } = await mesh.config();
    const route = config.spec.edge?.routes.find((r) => r.name === 'products');
    const mtls = config.spec.mtls?.mode ?? 'DISABLE';
    const answeredBy = Object.entries(catalog.seen['x-product-version'] ?? {})
      .map(([v, n]) => `${v} ${Math.round((100 * n) / catalog.count)}%`)
      .join(', ');
    const p50 = (r: TrafficReport) => (r.count ? r.p50Ms : NaN);
    // A path that answers errors measures the errors: say so beside its latency.
    const failed = [off, proxyless, sidecar].flatMap((r, i) =>
      r.count && (r.byStatus['200'] ?? 0) < r.count
        ? [shown(`${['mesh off', 'proxyless', 'sidecar'][i]} path: answers other than 200`, JSON.stringify(r.byStatus))]
        : [],
    );
    return verdict(
      [
        atMost('sidecar proxies per catalog request', hopsPerRequest, 0.1),
        atLeast('catalog requests answered 200', ok, 0.95),
        equals('spec.mtls.mode', mtls, 'STRICT'),
        shown('catalog answered by (x-product-version)', answeredBy || 'nothing'),
        shown('catalog mean latency', catalog.meanMs, 'ms'),
        shown('p50, mesh off (0 proxies)', p50(off), 'ms'),
        shown('p50, gateway → proxyless (1 proxy)', p50(proxyless), 'ms'),
        shown('p50, gateway → sidecar (2 proxies)', p50(sidecar), 'ms'),
        shown('added by the sidecar hop (sidecar − proxyless)', p50(sidecar) - p50(proxyless), 'ms'),
        shown('added per proxy ((sidecar − off) / 2)', (p50(sidecar) - p50(off)) / 2, 'ms'),
        ...failed,
        shown(KNOB, route?.subset ?? (route?.split ? JSON.stringify(route.split) : '(none)')),
      ],
      (m) => {
        if (m.name.startsWith('sidecar proxies'))
          return `sidecar proxies per catalog request: ${round(hopsPerRequest)} (goal ≤ 0.1): the catalog still goes through sidecars; ${KNOB} is ${route?.subset ?? '(unset)'}, send it to the proxyless instance (subset ${LAB_LABEL})`;
        if (m.name.startsWith('catalog requests'))
          return `only ${round(100 * ok, 1)}% of catalog calls were answered 200 (goal ≥ 95%; ${JSON.stringify(catalog.byCode)}): does ${KNOB} name a subset with ready endpoints? (meshctl status: ${SERVICE}-lab-proxyless ACKed)`;
        return `spec.mtls.mode is ${mtls}: keep STRICT; the point is to keep the mesh's mTLS without the sidecar, not to turn the mesh off`;
      },
    );
  },

  async solve(mesh) {
    await mesh.patch((c) => {
      const route = c.spec.edge?.routes.find((r) => r.name === 'products');
      if (!route) throw new Error('the config in force has no edge route "products"');
      route.subset = LAB_LABEL;
      delete route.split;
    }, `meshctl lab solve ${ID}`);
    await waitForPath(mesh);
    return [`${KNOB}: ${LAB_LABEL} (the catalog goes from the gateway straight to the proxyless instance)`];
  },

  async reset(mesh) {
    await stopAll(mesh, mesh.notes as Notes);
  },
};

/** Waits until the gateway sends that path's calls (or the plain catalog's) to the proxyless instance: endpoints arrive apart from config. */
async function waitForPath(mesh: LabMesh, header?: 'proxyless', timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: TrafficReport | undefined;
  while (Date.now() < deadline) {
    last = await drive({
      baseUrl: mesh.gatewayUrl,
      seconds: 0.2,
      concurrency: 1,
      progress: () => undefined,
      next: () => ({ path: '/api/products/p-001', headers: header ? { [PATH_HEADER]: header } : ({} as Record<string, string>) }),
    });
    if (last.seen['x-product-version']?.[LAB_LABEL] === last.count && last.byStatus['200'] === last.count) return;
  }
  throw new Error(
    `the gateway does not reach the proxyless instance within ${timeoutMs / 1000} s (${JSON.stringify(last?.byStatus)}; meshctl status)`,
  );
}
