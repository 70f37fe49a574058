// The whole mesh on loopback as real processes: control plane, services each beside a sidecar, gateway.
import { ContractCheck, ProxyList } from '@meshcart/control-plane-api';
import { EndpointsSnapshot, loadMeshConfigFile, serviceMode, type MeshMode } from '@meshcart/mesh-config';
import { ManagedProcess, workspaceRoot } from '@meshcart/service-kit';
import { createWriteStream, mkdirSync, readdirSync, readFileSync, writeFileSync, type WriteStream } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { request } from 'undici';
import { parseDocument } from 'yaml';
import { DASHBOARD_OUT } from './dashboard-build';
import { INSTANCES, type PortPlan } from './port-plan';

export interface LocalMeshOptions {
  plan: PortPlan;
  dataDir: string;
  profile?: string;
  /** Folder of the profiles (default deploy/mesh). */
  configDir?: string;
  /** Every service in this mode, whatever the profile says (tests run the shop in each mode). */
  mode?: MeshMode;
  host?: string;
  logLevel?: string;
  /** Extra environment per service, e.g. { 'payment-service': { PAYMENT_DECLINE_RATE: '1' } }. */
  serviceEnv?: Record<string, Record<string, string>>;
  /** Called as each process comes up, for progress output. */
  onProgress?: (message: string) => void;
  readyTimeoutMs?: number;
}

export interface ProcessRow {
  name: string;
  role: string;
  url: string;
  pid: number | undefined;
}

/** What the launcher reads of the control plane, checked against its API contract. */
const PROXIES = new ContractCheck(ProxyList);
const ENDPOINTS = new ContractCheck(EndpointsSnapshot);

const ENTRY = {
  controlPlane: 'apps/control-plane/src/main.ts',
  gateway: 'apps/gateway/src/main.ts',
  sidecar: 'apps/sidecar/src/main.ts',
  service: (service: string) => `apps/${service}/src/main.ts`,
};

export class LocalMesh {
  readonly processes: { proc: ManagedProcess; role: string; url: string }[] = [];
  private readonly logs: WriteStream[] = [];
  controlPlaneUrl = '';
  gatewayUrl = '';
  gatewayAdminUrl = '';
  /** Admin (metrics) URL of each instance's mesh: its sidecar, or the app's in-process mesh when proxyless. */
  readonly sidecarAdminUrls: Record<string, string> = {};
  /** The mode each service runs in. */
  readonly modes: Record<string, MeshMode> = {};
  /** The operator credential the control plane wrote (0600) under the data directory: what meshctl reads. */
  operatorTokenFile = '';

  /** The operator credential, for changes made through the control plane (config, faults). */
  operatorToken(): string {
    return readFileSync(this.operatorTokenFile, 'utf8').trim();
  }

  private constructor(private readonly opts: LocalMeshOptions) {}

  static async start(opts: LocalMeshOptions): Promise<LocalMesh> {
    const mesh = new LocalMesh(opts);
    try {
      await mesh.boot();
      return mesh;
    } catch (err) {
      await mesh.stop();
      throw err;
    }
  }

  get host(): string {
    return this.opts.host ?? '127.0.0.1';
  }

  /** In start order: control plane, then each service beside its sidecar, then the gateway. */
  rows(): ProcessRow[] {
    const order = ['control plane', 'service', 'sidecar', 'gateway'];
    return this.processes
      .map(({ proc, role, url }) => ({ name: proc.name, role, url, pid: proc.pid }))
      .sort((a, b) => order.indexOf(a.role) - order.indexOf(b.role) || a.name.localeCompare(b.name));
  }

  /** Gateway first (no new work), then services and sidecars, then the control plane. */
  async stop(): Promise<void> {
    const byRole = (pred: (role: string) => boolean) => this.processes.filter((p) => pred(p.role)).map((p) => p.proc.stop());
    await Promise.all(byRole((r) => r === 'gateway'));
    await Promise.all(byRole((r) => r === 'service' || r === 'sidecar'));
    await Promise.all(byRole((r) => r === 'control plane'));
    this.processes.length = 0;
    await Promise.all(this.logs.map((l) => new Promise((r) => l.end(r))));
  }

  private async boot(): Promise<void> {
    const { plan } = this.opts;
    const root = workspaceRoot();
    const dataDir = resolve(root, this.opts.dataDir);
    const logDir = join(dataDir, 'logs');
    mkdirSync(logDir, { recursive: true });
    const progress = this.opts.onProgress ?? (() => undefined);
    const common = { HOST: this.host, LOG_LEVEL: this.opts.logLevel ?? 'info' };
    // Each service gets its own join credential, new every run, and no other's: a workload proves
    // which service it is with it before it is given that service's certificate.
    const services = [...new Set(INSTANCES.map((i) => i.service)), 'gateway'];
    const joinTokens = Object.fromEntries(services.map((svc) => [svc, `mcj_${randomBytes(24).toString('base64url')}`]));
    this.operatorTokenFile = join(dataDir, 'operator-token');

    const cp = await this.spawn('control-plane', 'control plane', ENTRY.controlPlane, logDir, {
      ...common,
      PORT: String(plan.controlPlane),
      MESH_TLS_PORT: String(plan.controlPlaneTls),
      MESH_JOIN_CREDENTIALS: Object.entries(joinTokens)
        .map(([svc, token]) => `${svc}=${token}`)
        .join(','),
      MESH_OPERATOR_TOKEN_FILE: this.operatorTokenFile,
      MESH_CONFIG_DIR: this.configDir(root),
      MESH_CA_DIR: join(dataDir, 'ca'),
      MESH_CONFIG_STATE_DIR: join(dataDir, 'config-store'),
      MESH_PROFILE: this.opts.profile ?? 'optimized',
      // The built dashboard, served at the control plane's root (npm start builds it first: ensureDashboard).
      MESH_DASHBOARD_DIR: join(root, DASHBOARD_OUT),
    });
    this.controlPlaneUrl = `http://${this.host}:${cp.ports['http']}`;
    progress(`control plane ready at ${this.controlPlaneUrl}`);

    const profile = this.opts.profile ?? 'optimized';
    const config = loadMeshConfigFile(join(this.configDir(root), `${profile}.yaml`));
    for (const spec of INSTANCES) this.modes[spec.service] = this.opts.mode ?? serviceMode(config, spec.service);
    const appUrl = (instance: string) => `http://${this.host}:${plan.instances[instance]!.app}`;
    // With the mesh off, callers dial apps directly; replicas are listed for plain round robin.
    const upstreams = [...new Set(INSTANCES.map((i) => i.service))]
      .map(
        (svc) =>
          `${svc}=${INSTANCES.filter((i) => i.service === svc)
            .map((i) => appUrl(i.instance))
            .join('|')}`,
      )
      .join(',');

    await Promise.all(
      INSTANCES.map(async (spec) => {
        const ports = plan.instances[spec.instance]!;
        const mode = this.modes[spec.service]!;
        const labels = Object.entries(spec.labels)
          .map(([k, v]) => `${k}=${v}`)
          .join(',');
        const app = this.spawn(spec.instance, 'service', ENTRY.service(spec.service), logDir, {
          ...common,
          ...this.opts.serviceEnv?.[spec.service],
          PORT: String(ports.app),
          DATA_DIR: dataDir,
          // Only an app that runs its mesh in-process (proxyless, off) registers itself.
          ...(mode !== 'sidecar' ? { MESH_JOIN_TOKEN: joinTokens[spec.service]! } : {}),
          MESH_MODE: mode,
          MESH_INSTANCE: spec.instance,
          MESH_LABELS: labels,
          MESH_CONTROL_PLANE_URLS: this.controlPlaneUrl,
          ...(mode === 'sidecar' ? { MESH_OUTBOUND_URL: `http://${this.host}:${ports.outbound}` } : {}),
          // Proxyless, the app serves the mesh's mTLS port itself, on the port its sidecar's inbound would have.
          ...(mode === 'proxyless' ? { MESH_ADMIN_PORT: String(ports.admin), MESH_INBOUND_PORT: String(ports.inbound) } : {}),
          ...(mode === 'off' ? { MESH_UPSTREAMS: upstreams } : {}),
        });
        const sidecar =
          mode === 'sidecar'
            ? this.spawn(`${spec.instance}-sidecar`, 'sidecar', ENTRY.sidecar, logDir, {
                ...common,
                MESH_SERVICE: spec.service,
                MESH_INSTANCE: spec.instance,
                MESH_JOIN_TOKEN: joinTokens[spec.service]!,
                APP_URL: appUrl(spec.instance),
                INBOUND_PORT: String(ports.inbound),
                INBOUND_H2C_PORT: String(ports.inboundH2c),
                OUTBOUND_PORT: String(ports.outbound),
                ADMIN_PORT: String(ports.admin),
                MESH_CONTROL_PLANE_URLS: this.controlPlaneUrl,
                MESH_LABELS: labels,
                MESH_BOOTSTRAP_FILE: join(dataDir, 'bootstrap', `${spec.instance}.json`),
              })
            : undefined;
        await Promise.all([app, sidecar]);
        if (mode !== 'off') this.sidecarAdminUrls[spec.instance] = `http://${this.host}:${ports.admin}`;
        progress(mode === 'sidecar' ? `${spec.instance} and its sidecar are up` : `${spec.instance} is up (mesh ${mode})`);
      }),
    );

    const gw = await this.spawn('gateway', 'gateway', ENTRY.gateway, logDir, {
      ...common,
      PORT: String(plan.gateway),
      ADMIN_PORT: String(plan.gatewayAdmin),
      MESH_INSTANCE: 'gateway-1',
      MESH_JOIN_TOKEN: joinTokens['gateway']!,
      MESH_CONTROL_PLANE_URLS: this.controlPlaneUrl,
    });
    this.gatewayUrl = `http://${this.host}:${gw.ports['http']}`;
    this.gatewayAdminUrl = `http://${this.host}:${gw.ports['admin']}`;
    await this.waitUntilMeshReady();
    progress(`gateway ready at ${this.gatewayUrl}`);
  }

  private configDir(root: string): string {
    const dir = this.opts.configDir ? resolve(root, this.opts.configDir) : join(root, 'deploy/mesh');
    return this.opts.mode === 'off' ? withoutMtls(dir, join(resolve(root, this.opts.dataDir), 'mesh-off')) : dir;
  }

  private async spawn(name: string, role: string, entry: string, logDir: string, env: Record<string, string>) {
    const log = createWriteStream(join(logDir, `${name}.log`), { flags: 'a' });
    this.logs.push(log);
    const proc = await ManagedProcess.start({
      name,
      entry,
      env,
      detached: true,
      onLine: (line) => log.write(`${line}\n`),
      readyTimeoutMs: this.opts.readyTimeoutMs ?? 60_000,
    });
    const url = role === 'sidecar' ? `http://${this.host}:${proc.ports['inbound']}` : `http://${this.host}:${proc.ports['http']}`;
    this.processes.push({ proc, role, url });
    return proc;
  }

  /** Ready = every sidecar and the gateway have applied config, and every instance is an endpoint. */
  private async waitUntilMeshReady(): Promise<void> {
    const deadline = Date.now() + (this.opts.readyTimeoutMs ?? 60_000);
    const expected = [...INSTANCES.map((i) => i.instance), 'gateway-1'];
    let last = '';
    while (Date.now() < deadline) {
      try {
        const res = await request(`${this.controlPlaneUrl}/api/v1/proxies`);
        const proxies = PROXIES.verify(await res.body.json(), 'GET /api/v1/proxies');
        const endpoints = ENDPOINTS.verify(await (await request(`${this.controlPlaneUrl}/api/v1/endpoints`)).body.json(), 'GET /api/v1/endpoints');
        const missing = expected.filter((name) => {
          const p = proxies.find((x) => x.instance === name);
          return !p || !p.configVersion || p.endpointsVersion !== endpoints.version;
        });
        const gw = await request(`${this.gatewayUrl}/readyz`);
        await gw.body.dump();
        // Each mesh's own /ready: config applied and, with mTLS on, a workload certificate in hand.
        const unready: string[] = [];
        for (const [instance, admin] of Object.entries(this.sidecarAdminUrls)) {
          const r = await request(`${admin}/ready`);
          await r.body.dump();
          if (r.statusCode !== 200) unready.push(instance);
        }
        if (missing.length === 0 && unready.length === 0 && gw.statusCode === 200) return;
        last = missing.length
          ? `waiting for ${missing.join(', ')}`
          : unready.length
            ? `waiting for ${unready.join(', ')} to be ready`
            : 'waiting for the gateway';
      } catch (err) {
        last = (err as Error).message;
      }
      await sleep(100);
    }
    throw new Error(`the mesh did not become ready: ${last}`);
  }
}

/**
 * With every service's mesh off, no service has a proxy to speak mTLS, while the profiles' STRICT
 * would have the gateway (still a mesh proxy) refuse to send them plaintext. The mesh off is the
 * floor, the shop without a mesh: its control plane serves the same profiles with mTLS DISABLE,
 * written to `out`, and otherwise unchanged.
 */
function withoutMtls(dir: string, out: string): string {
  mkdirSync(out, { recursive: true });
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.yaml'))) {
    const doc = parseDocument(readFileSync(join(dir, file), 'utf8'));
    doc.setIn(['spec', 'mtls', 'mode'], 'DISABLE');
    writeFileSync(join(out, file), `# ${file} with the mesh off: mTLS DISABLE (written by the local launcher).\n${doc.toString()}`);
  }
  return out;
}
