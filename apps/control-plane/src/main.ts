// Starts the control plane from environment settings.
import { EnvError, readNumber, readPort, runService } from '@meshcart/service-kit';
import { resolve } from 'node:path';
import { buildApp } from './app';
import { parseJoinCredentials } from './auth/join-credentials';
import { operatorTokenFrom } from './auth/operator-token';
import { serviceAccountTokensFromEnv } from './auth/service-account-tokens';
import type { InjectorOptions } from './injector-server';
import { peerDiscovery } from './replicas';

const env = process.env;

/**
 * INJECTOR_PORT turns on the sidecar injection webhook (Kubernetes): it needs the sidecar image to
 * inject, and names the API server dials, from the pod's namespace unless INJECTOR_DNS_NAMES says.
 */
function injectorOptions(e: NodeJS.ProcessEnv): InjectorOptions | undefined {
  if (!e['INJECTOR_PORT']) return undefined;
  const image = e['INJECT_SIDECAR_IMAGE'];
  if (!image)
    throw new EnvError(
      'INJECT_SIDECAR_IMAGE',
      '',
      'the image injected sidecars run, e.g. registry.example.com/meshcart:1.0 (required with INJECTOR_PORT)',
    );
  const ns = e['POD_NAMESPACE'] ?? 'meshcart';
  const list = (v: string | undefined, fallback: string[]) =>
    v
      ? v
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : fallback;
  return {
    host: e['HOST'] ?? '127.0.0.1',
    port: readPort(e, 'INJECTOR_PORT', 15017),
    dnsNames: list(e['INJECTOR_DNS_NAMES'], ['control-plane', `control-plane.${ns}.svc`, `control-plane.${ns}.svc.cluster.local`]),
    settings: {
      image,
      controlPlaneUrls: e['INJECT_CONTROL_PLANE_URLS'] ?? `http://control-plane.${ns}.svc:15010`,
      // Injected sidecars project their ServiceAccount token for the audience the control plane verifies.
      tokenAudience: e['MESH_K8S_TOKEN_AUDIENCE'] || 'meshcart',
      // The sidecar's requests and limits unless a pod's annotations say otherwise.
      resources: {
        requests: { cpu: e['INJECT_PROXY_CPU'] ?? '100m', memory: e['INJECT_PROXY_MEMORY'] ?? '128Mi' },
        limits: { cpu: e['INJECT_PROXY_CPU_LIMIT'] ?? '500m', memory: e['INJECT_PROXY_MEMORY_LIMIT'] ?? '512Mi' },
      },
    },
  };
}

/**
 * Other replicas: MESH_PEERS (base URLs, comma-separated) and/or MESH_PEERS_DNS (host:port of a
 * name with every replica's address, e.g. a headless Service). Neither set: a single control plane.
 */
function peers(e: NodeJS.ProcessEnv) {
  const urls = (e['MESH_PEERS'] ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const url of urls)
    if (!/^https?:\/\/[^/]+\/?$/.test(url))
      throw new EnvError('MESH_PEERS', e['MESH_PEERS']!, 'base URLs separated by commas, e.g. http://cp-1:15010,http://cp-2:15010');
  let dns: { host: string; port: number } | undefined;
  if (e['MESH_PEERS_DNS']) {
    const m = /^([A-Za-z0-9.-]+):(\d{1,5})$/.exec(e['MESH_PEERS_DNS']);
    if (!m || Number(m[2]) > 65535)
      throw new EnvError('MESH_PEERS_DNS', e['MESH_PEERS_DNS'], 'host:port, e.g. control-plane-peers.meshcart.svc.cluster.local:15010');
    dns = { host: m[1]!, port: Number(m[2]) };
  }
  if (urls.length === 0 && !dns) return undefined;
  return { discover: peerDiscovery({ urls, dns }), refreshMs: readNumber(e, 'MESH_PEERS_REFRESH_MS', 5_000, 100, 600_000) };
}

/** MESH_JOIN_CREDENTIALS: `service=token,...`, each workload's own (the launcher and the compose file hand them out). */
function joinCredentials(e: NodeJS.ProcessEnv): Record<string, string> {
  try {
    return parseJoinCredentials(e['MESH_JOIN_CREDENTIALS'] ?? '');
  } catch (err) {
    throw new EnvError('MESH_JOIN_CREDENTIALS', '(not shown)', (err as Error).message);
  }
}

/** MESH_API_READS: `open` (default; views answer anyone who can reach them) or `authenticated`. */
function readsLocked(e: NodeJS.ProcessEnv): boolean {
  const v = e['MESH_API_READS'] ?? 'open';
  if (v !== 'open' && v !== 'authenticated') throw new EnvError('MESH_API_READS', v, 'open or authenticated');
  return v === 'authenticated';
}

let app: ReturnType<typeof buildApp>;
try {
  app = buildApp({
    configDir: env['MESH_CONFIG_DIR'] ?? 'deploy/mesh',
    profile: env['MESH_PROFILE'] ?? 'optimized',
    caDir: env['MESH_CA_DIR'] ?? '.data/ca',
    stateDir: env['MESH_CONFIG_STATE_DIR'] ?? '.data/config-store',
    operatorToken: operatorTokenFrom({
      token: env['MESH_OPERATOR_TOKEN'] || undefined,
      file: env['MESH_OPERATOR_TOKEN_FILE'] ?? '.data/operator-token',
    }),
    joinCredentials: joinCredentials(env),
    ...(env['MESH_JOIN_CREDENTIALS_DIR'] ? { joinCredentialsDir: env['MESH_JOIN_CREDENTIALS_DIR'] } : {}),
    // Kubernetes: workloads prove their ServiceAccount with a projected token (MESH_K8S_TOKEN_ISSUER turns it on).
    serviceAccounts: serviceAccountTokensFromEnv(env),
    lockReads: readsLocked(env),
    tls: { host: env['HOST'] ?? '127.0.0.1', port: readPort(env, 'MESH_TLS_PORT', 15012) },
    leaseTtlMs: readNumber(env, 'MESH_LEASE_TTL_MS', 10_000, 500, 600_000),
    logger: { level: env['LOG_LEVEL'] ?? 'info' },
    injector: injectorOptions(env),
    peers: peers(env),
    dashboardDir: resolve(env['MESH_DASHBOARD_DIR'] ?? 'dist/dashboard'),
    dashboardIntervalMs: readNumber(env, 'MESH_DASHBOARD_INTERVAL_MS', 2_000, 250, 60_000),
  });
} catch (err) {
  // A bad config file or setting stops the start with the reason, not a stack trace.
  console.error(`control-plane: ${(err as Error).message}`);
  process.exit(1);
}
await runService(app, { name: 'control-plane', host: env['HOST'] ?? '127.0.0.1', port: readPort(env, 'PORT', 15010) });
