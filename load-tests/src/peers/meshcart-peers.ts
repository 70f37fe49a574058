// The MeshCart peers: a real control plane and real sidecar processes (or the in-process mesh) under a bench mesh config.
import { ManagedProcess, workspaceRoot } from '@meshcart/service-kit';
import { bundleEntry } from '../lib';
import { MeshDispatcher, MeshRuntime } from '@meshcart/sidecar';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { request } from 'undici';
import { httpClient, sendVia, waitUntilServing } from './http-client';
import { CLIENT_SERVICE, fullConfig, minimalConfig, UPSTREAM_SERVICE } from './mesh-configs';
import type { Peer, PeerContext, RunningPeer } from './peer';

const PROFILE = 'bench';

/** Each bench service's own join credential, new every run. */
type JoinTokens = Record<string, string>;
const newJoinTokens = (): JoinTokens =>
  Object.fromEntries([CLIENT_SERVICE, UPSTREAM_SERVICE].map((s) => [s, `mcj_${randomBytes(24).toString('base64url')}`]));

async function startControlPlane(ctx: PeerContext, yaml: string, tokens: JoinTokens): Promise<ManagedProcess> {
  const configDir = join(ctx.tmpDir, 'config');
  mkdirSync(configDir, { recursive: true });
  writeFileSync(join(configDir, `${PROFILE}.yaml`), yaml);
  return ManagedProcess.start({
    name: 'control-plane',
    readyTimeoutMs: 60_000,
    entry: 'apps/control-plane/src/main.ts',
    env: {
      PORT: '0',
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      MESH_CONFIG_DIR: configDir,
      MESH_PROFILE: PROFILE,
      MESH_CA_DIR: join(ctx.tmpDir, 'ca'),
      MESH_CONFIG_STATE_DIR: join(ctx.tmpDir, 'state'),
      MESH_JOIN_CREDENTIALS: Object.entries(tokens)
        .map(([svc, token]) => `${svc}=${token}`)
        .join(','),
      MESH_OPERATOR_TOKEN_FILE: join(ctx.tmpDir, 'operator-token'),
      MESH_TLS_PORT: '0',
      // Leases outlive a whole round even if a heartbeat is late under load.
      MESH_LEASE_TTL_MS: '60000',
    },
  });
}

/** The sidecar as it ships: bundled JavaScript, no tsx loader (the Node peers run the same way). */
async function startSidecar(service: string, ctx: PeerContext, controlPlaneUrl: string, token: string): Promise<ManagedProcess> {
  return ManagedProcess.start({
    name: `${service}-sidecar`,
    readyTimeoutMs: 60_000,
    entry: await bundleEntry('apps/sidecar/src/main.ts'),
    nodeArgs: ctx.nodeArgs,
    env: {
      MESH_SERVICE: service,
      MESH_INSTANCE: `${service}-1`,
      APP_URL: ctx.upstreamUrl,
      MESH_CONTROL_PLANE_URLS: controlPlaneUrl,
      HOST: '127.0.0.1',
      INBOUND_PORT: '0',
      INBOUND_H2C_PORT: '0',
      OUTBOUND_PORT: '0',
      ADMIN_PORT: '0',
      MESH_JOIN_TOKEN: token,
      LOG_LEVEL: 'warn',
    },
  });
}

interface ConfigDump {
  clusters?: { name: string; endpoints: { url: string }[] }[];
}

/** Ready = the admin port says ready (config applied; a certificate when mTLS is on) and the upstream is an endpoint. */
async function waitForMeshConfig(admins: string[], what: string, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = 'no answer yet';
  while (Date.now() < until) {
    try {
      let all = true;
      for (const admin of admins) {
        const ready = await request(`${admin}/ready`);
        const readyBody = await ready.body.text();
        const dump = (await (await request(`${admin}/config_dump`)).body.json()) as ConfigDump;
        const endpoints = dump.clusters?.find((c) => c.name === UPSTREAM_SERVICE)?.endpoints.length ?? 0;
        if (ready.statusCode !== 200 || endpoints === 0) {
          all = false;
          last = `${admin}: ${readyBody.replace(/\s+/g, ' ')}, ${endpoints} endpoint(s) for ${UPSTREAM_SERVICE}`;
        }
      }
      if (all) return;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what}: the mesh did not become ready within ${timeoutMs} ms (${last})`);
}

/** client → bench-client's sidecar (outbound) → bench-upstream's sidecar (inbound) → upstream. */
async function sidecarPath(ctx: PeerContext, yaml: string): Promise<RunningPeer> {
  const tokens = newJoinTokens();
  const cp = await startControlPlane(ctx, yaml, tokens);
  const started: ManagedProcess[] = [];
  const stop = async () => {
    await Promise.all(started.map((p) => p.stop()));
    await cp.stop();
  };
  try {
    const cpUrl = `http://127.0.0.1:${cp.ports['http']}`;
    const settled = await Promise.allSettled([CLIENT_SERVICE, UPSTREAM_SERVICE].map((svc) => startSidecar(svc, ctx, cpUrl, tokens[svc]!)));
    for (const s of settled) if (s.status === 'fulfilled') started.push(s.value);
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
    const [outbound, inbound] = started;
    await waitForMeshConfig(
      [outbound!, inbound!].map((p) => `http://127.0.0.1:${p.ports['admin']}`),
      'meshcart sidecars',
    );
    // The app names the destination service in Host; the outbound listener routes by it.
    const client = httpClient(`http://127.0.0.1:${outbound!.ports['outbound']}`, ctx.path, { host: UPSTREAM_SERVICE });
    await waitUntilServing(client.send, 'the sidecar path').catch(async (err: unknown) => {
      await client.close();
      throw err;
    });
    return { send: client.send, proxyPids: [[outbound!.pid!], [inbound!.pid!]], closeClient: client.close, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

export const meshcartSidecar: Peer = {
  name: 'meshcart-sidecar',
  proxies: 2,
  setup: 'client → outbound sidecar → inbound sidecar → upstream; mTLS DISABLE, minimal policy (pool, round robin, access log off)',
  start: (ctx) => sidecarPath(ctx, minimalConfig('DISABLE')),
};

export const meshcartSidecarMtls: Peer = {
  name: 'meshcart-sidecar-mtls',
  proxies: 2,
  setup: 'as meshcart-sidecar, with mTLS STRICT (ECDSA P-256 certificates from the control plane CA) between the sidecars',
  start: (ctx) => sidecarPath(ctx, minimalConfig('STRICT')),
};

export const meshcartSidecarFull: Peer = {
  name: 'meshcart-sidecar-full',
  proxies: 2,
  setup:
    'as meshcart-sidecar-mtls, with every policy of deploy/mesh/optimized.yaml: retries + budget, breaker, outlier detection, least-request, sampled access log, default-deny authorization, tracing',
  start: (ctx) => sidecarPath(ctx, fullConfig(workspaceRoot(), 'sidecar')),
};

/**
 * MeshRuntime's access log always writes to fd 1, which here is the bench's result table. Same
 * loggers (sampled, buffered), sent to a file instead, so the proxyless mesh still pays for them.
 */
function quietAccessLog(runtime: MeshRuntime, file: string): void {
  const opts = { base: { service: CLIENT_SERVICE, instance: `${CLIENT_SERVICE}-1`, log: 'access' }, timestamp: pino.stdTimeFunctions.isoTime };
  Object.assign(runtime.accessLog as unknown as Record<string, unknown>, {
    sync: pino(opts, pino.destination({ dest: file, sync: true })),
    buffered: pino(opts, pino.destination({ dest: file, sync: false, minLength: 4096 })),
  });
}

/**
 * The client's own undici dispatcher is the mesh (MeshDispatcher over a MeshRuntime fed by the control
 * plane), and so is the upstream's inbound side: the bench upstream, run proxyless, serves mTLS on its
 * own mesh port and admits the client by its certificate. No proxy process on the path.
 */
export const meshcartProxyless: Peer = {
  name: 'meshcart-proxyless',
  proxies: 0,
  setup:
    'client uses MeshDispatcher (in-process mesh, optimized.yaml policies, mTLS STRICT) as its undici dispatcher → the upstream app run proxyless (the mesh in-process: mTLS on its own mesh port, authorization by certificate), in its own process',
  async start(ctx) {
    const tokens = newJoinTokens();
    const cp = await startControlPlane(ctx, fullConfig(workspaceRoot(), 'proxyless'), tokens);
    const cpUrl = `http://127.0.0.1:${cp.ports['http']}`;
    const logger = pino({ level: 'warn', base: { component: 'bench-proxyless' } }, pino.destination(2));
    const runtime = new MeshRuntime({
      service: CLIENT_SERVICE,
      instance: `${CLIENT_SERVICE}-1`,
      mode: 'proxyless',
      controlPlaneUrls: [cpUrl],
      admin: { host: '127.0.0.1', port: 0 },
      logger,
      // STRICT: the client presents its certificate, and sends nothing in plaintext.
      join: { token: tokens[CLIENT_SERVICE]! },
    });
    quietAccessLog(runtime, join(ctx.tmpDir, 'access.log'));
    let upstream: ManagedProcess | undefined;
    const stop = async () => {
      await runtime.accessLog.flush();
      await runtime.close();
      await upstream?.stop();
      await cp.stop();
    };
    try {
      upstream = await ManagedProcess.start({
        name: `${UPSTREAM_SERVICE}-proxyless`,
        readyTimeoutMs: 60_000,
        entry: await bundleEntry('load-tests/src/peers/upstream-server.ts'),
        nodeArgs: ctx.nodeArgs,
        env: {
          PORT: '0',
          MESH_MODE: 'proxyless',
          MESH_SERVICE: UPSTREAM_SERVICE,
          MESH_INSTANCE: `${UPSTREAM_SERVICE}-1`,
          MESH_CONTROL_PLANE_URLS: cpUrl,
          MESH_INBOUND_PORT: '0',
          MESH_JOIN_TOKEN: tokens[UPSTREAM_SERVICE]!,
          LOG_LEVEL: 'warn',
        },
      });
      const adminUrl = await runtime.startAdmin();
      runtime.connect(adminUrl);
      await waitForMeshConfig([adminUrl, `http://127.0.0.1:${upstream.ports['admin']}`], 'meshcart proxyless');
      const dispatcher = new MeshDispatcher(runtime.dataPlane, CLIENT_SERVICE);
      const send = sendVia(dispatcher, `http://${UPSTREAM_SERVICE}`, ctx.path);
      await waitUntilServing(send, 'the proxyless mesh');
      return { send, proxyPids: [], closeClient: async () => undefined, stop };
    } catch (err) {
      await stop();
      throw err;
    }
  },
};
