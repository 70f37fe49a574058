// Replicas a lab runs beside the mesh (a slow one, one whose app is gone): its own processes on free
// ports, joined with a join credential it creates; stopped, and the credential revoked, in its reset.
import { ContractCheck, JoinCreated, JoinRevoked, type JoinCreateBody, type JoinRevokeBody } from '@meshcart/control-plane-api';
import { EndpointsSnapshot } from '@meshcart/mesh-config';
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LabMesh } from './lab-mesh';
import { labDir, LabStateFile } from './lab-state';

const joinCreated = new ContractCheck(JoinCreated);
const joinRevoked = new ContractCheck(JoinRevoked);
const endpointsSnapshot = new ContractCheck(EndpointsSnapshot);

const PRELOAD = fileURLToPath(new URL('./replica-preload.ts', import.meta.url));

export interface ReplicaSpec {
  service: string;
  instance: string;
  labels: Record<string, string>;
  /** `delayed`: the service's own app, every request held `delayMs` first; `none`: a sidecar whose app is gone. */
  app: 'delayed' | 'none';
  delayMs?: number;
}

/** What reset needs: kept in the lab's notes. */
export interface RunningReplica {
  instance: string;
  service: string;
  pids: number[];
  credentialId: string;
  log: string;
  /** Its sidecar's admin address: /metrics, /config_dump. */
  adminUrl: string;
}

function workspaceRoot(): string {
  for (let dir = dirname(PRELOAD); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'nx.json'))) return dir;
    if (dirname(dir) === dir) throw new Error(`no nx.json above ${PRELOAD}`);
  }
}

/** `n` distinct ports nothing listens on now (all held at once, then released). */
async function freePorts(n: number): Promise<number[]> {
  const servers = Array.from({ length: n }, () => createServer());
  const ports = await Promise.all(
    servers.map(
      (server) =>
        new Promise<number>((resolve, reject) => {
          server.once('error', reject);
          server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port));
        }),
    ),
  );
  await Promise.all(servers.map((server) => new Promise((r) => server.close(r))));
  return ports;
}

/** Starts one replica (its app, if any, and its sidecar) and waits until every proxy knows it as an endpoint. */
export async function startReplica(mesh: LabMesh, lab: string, spec: ReplicaSpec): Promise<RunningReplica> {
  const dir = labDir(process.env);
  mkdirSync(dir, { recursive: true });
  const log = join(dir, `${spec.instance}.log`);
  const root = workspaceRoot();
  const [app, inbound, inboundH2c, outbound, admin] = (await freePorts(5)) as [number, number, number, number, number];
  const { token, credential } = await mesh.api.call('POST', '/api/v1/join-credentials', joinCreated, {
    service: spec.service,
  } satisfies JoinCreateBody);
  const running: RunningReplica = {
    instance: spec.instance,
    service: spec.service,
    pids: [],
    credentialId: credential.id,
    log,
    adminUrl: `http://127.0.0.1:${admin}`,
  };
  // The operator credential stays with meshctl: the replica's processes get only their join credential.
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('MESHCTL_')));
  const labels = Object.entries(spec.labels)
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
  const common = {
    LAB_STATE_FILE: new LabStateFile(dir).file,
    LAB_ID: lab,
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    MESH_CONTROL_PLANE_URLS: mesh.api.baseUrl,
  };
  const run = (entry: string, vars: Record<string, string>) => {
    const out = openSync(log, 'a');
    const child = spawn(process.execPath, ['--import', 'tsx', '--import', PRELOAD, entry], {
      cwd: root,
      env: { ...env, ...common, ...vars },
      stdio: ['ignore', out, out],
      // Its own process group, and not waited for: it lives on after this command, until the lab's reset.
      detached: true,
    });
    closeSync(out);
    child.unref();
    if (child.pid) running.pids.push(child.pid);
  };
  try {
    if (spec.app === 'delayed')
      run(`apps/${spec.service}/src/main.ts`, {
        PORT: String(app),
        // The data folder npm start uses (.data): the replica shares its service's database, as replicas do.
        DATA_DIR: dirname(dir),
        MESH_MODE: 'sidecar',
        MESH_INSTANCE: spec.instance,
        MESH_LABELS: labels,
        MESH_OUTBOUND_URL: `http://127.0.0.1:${outbound}`,
        LAB_DELAY_MS: String(spec.delayMs ?? 0),
      });
    run('apps/sidecar/src/main.ts', {
      MESH_SERVICE: spec.service,
      MESH_INSTANCE: spec.instance,
      MESH_JOIN_TOKEN: token,
      MESH_LABELS: labels,
      // With no app, nothing listens on APP_URL: the sidecar answers every request 503.
      APP_URL: `http://127.0.0.1:${app}`,
      INBOUND_PORT: String(inbound),
      INBOUND_H2C_PORT: String(inboundH2c),
      OUTBOUND_PORT: String(outbound),
      ADMIN_PORT: String(admin),
    });
    await waitForEndpoints(mesh, spec.service, [spec.instance], true, running);
    return running;
  } catch (err) {
    await stopReplicas(mesh, [running]);
    throw err;
  }
}

/** Until `instances` are (present) or are not (absent) endpoints of `service` in every connected proxy. */
async function waitForEndpoints(mesh: LabMesh, service: string, instances: string[], present: boolean, running?: RunningReplica): Promise<void> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const endpoints = await mesh.api.call('GET', '/api/v1/endpoints', endpointsSnapshot);
    const listed = new Set((endpoints.clusters[service] ?? []).map((e) => e.instance));
    const proxies = (await mesh.proxies()).filter((p) => p.connected);
    const behind = proxies.filter((p) => !(p.acks.endpoints?.acked && p.acks.endpoints.version === endpoints.version));
    const ready = instances.every((i) => listed.has(i) === present) && behind.length === 0;
    if (ready && present) {
      // Its own side is ready too: config applied and a workload certificate in hand.
      const own = proxies.filter((p) => instances.includes(p.instance));
      const ok = await Promise.all(
        own.map((p) =>
          fetch(`${p.adminUrl}/ready`).then(
            (r) => r.ok,
            () => false,
          ),
        ),
      );
      if (own.length === instances.length && ok.every(Boolean)) return;
    } else if (ready) return;
    if (running && !running.pids.every(alive))
      throw new Error(`${running.instance} exited while starting; its log: ${running.log}\n${tail(running.log)}`);
    if (Date.now() > deadline)
      throw new Error(
        `${instances.join(', ')} did not ${present ? 'join' : 'leave'} ${service}'s endpoints in every proxy within 90 s` +
          (running ? `; its log: ${running.log}\n${tail(running.log)}` : ''),
      );
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Stops the replicas' processes (SIGTERM: a sidecar deregisters), revokes their credentials, and waits until no proxy lists them. */
export async function stopReplicas(mesh: LabMesh, replicas: RunningReplica[], progress: (m: string) => void = () => undefined): Promise<void> {
  for (const r of replicas) for (const pid of r.pids.filter(ours)) process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 10_000;
  while (replicas.some((r) => r.pids.some(alive)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  for (const r of replicas) for (const pid of r.pids.filter(ours)) process.kill(pid, 'SIGKILL');
  for (const r of replicas) {
    try {
      await mesh.api.call('POST', '/api/v1/join-credentials/revoke', joinRevoked, { id: r.credentialId } satisfies JoinRevokeBody);
    } catch (err) {
      progress(
        `could not revoke ${r.instance}'s join credential ${r.credentialId} (${(err as Error).message}): meshctl join revoke ${r.credentialId}`,
      );
    }
  }
  for (const service of new Set(replicas.map((r) => r.service)))
    await waitForEndpoints(
      mesh,
      service,
      replicas.filter((r) => r.service === service).map((r) => r.instance),
      false,
    ).catch((err: Error) => progress(err.message));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Alive and, where /proc tells, still the process the lab started (a pid can be reused after a reboot). */
function ours(pid: number): boolean {
  if (!alive(pid)) return false;
  const cmdline = `/proc/${pid}/cmdline`;
  if (!existsSync(cmdline)) return true;
  try {
    return readFileSync(cmdline, 'utf8').includes(PRELOAD);
  } catch {
    return false;
  }
}

function tail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}
