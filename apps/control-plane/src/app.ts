// The control plane: registry, config store and push server behind a small HTTP API, one plugin per concern.
import { createServiceApp, type ServiceAppOptions } from '@meshcart/service-kit';
import { join } from 'node:path';
import { AuditLog } from './audit-log';
import { Auth, type ServiceAccountVerifier } from './auth/auth';
import { JoinCredentials } from './auth/join-credentials';
import { CONTROL_PLANE_ACCOUNT } from '@meshcart/control-plane-api';
import { CaRotation } from './ca-rotation';
import { CertificateAuthority, spiffeId } from './certificate-authority';
import { ConfigStore } from './config-store';
import { DashboardFeed } from './dashboard/dashboard-feed';
import type { InjectorOptions } from './injector-server';
import { ControlPlaneMetrics } from './metrics';
import { accessPlugin } from './plugins/access-plugin';
import { caPlugin } from './plugins/ca-plugin';
import { authPlugin } from './plugins/auth-plugin';
import { certificatesPlugin } from './plugins/certificates-plugin';
import { configPlugin } from './plugins/config-plugin';
import { dashboardPlugin } from './plugins/dashboard-plugin';
import { faultsPlugin } from './plugins/faults-plugin';
import { injectorPlugin } from './plugins/injector-plugin';
import { mtlsListenerPlugin } from './plugins/mtls-listener-plugin';
import { peersPlugin } from './plugins/peers-plugin';
import { proxiesPlugin } from './plugins/proxies-plugin';
import { PushServer } from './push-server';
import { Registry } from './registry';
import { replicaId, Replicas, type ReplicasOptions } from './replicas';

export interface ControlPlaneOptions {
  /** Folder holding <profile>.yaml files (deploy/mesh). */
  configDir: string;
  profile: string;
  /** Folder of the CA root (ca-key.pem, ca-cert.pem); created there on first start if missing. */
  caDir: string;
  /** Every change to the mesh (config, faults, drains, join credentials) needs this bearer token. */
  operatorToken: string;
  /** Per-service join credentials given at start (`service → token`): a workload presents its own to prove its service. */
  joinCredentials?: Record<string, string>;
  /** A folder with a subfolder per service, where each service's credential is written for it (Docker Compose). */
  joinCredentialsDir?: string;
  /** Kubernetes: verifies the projected ServiceAccount tokens workloads present instead. */
  serviceAccounts?: ServiceAccountVerifier;
  /** Read-only views need a credential too (default: open). */
  lockReads?: boolean;
  /** Where applied config versions, the audit trail and created join credentials are kept; in memory only if absent. */
  stateDir?: string;
  leaseTtlMs?: number;
  logger?: ServiceAppOptions['logger'];
  /** The mTLS port proxies with a certificate and other replicas use (0: any free port). */
  tls?: { host: string; port: number };
  /** Also serve the sidecar injection webhook (Kubernetes), over HTTPS with a certificate from this CA. */
  injector?: InjectorOptions;
  /** The built web dashboard, served at the root (dist/dashboard); the root explains how to build it when missing. */
  dashboardDir?: string;
  /** How often the dashboard's feed scrapes each proxy while a dashboard is open (default 2000 ms). */
  dashboardIntervalMs?: number;
  /** Other replicas of this control plane, to share one registry and config with (see replicas.ts). */
  peers?: Omit<ReplicasOptions, 'log' | 'id' | 'caFingerprint' | 'credentials'> & { id?: string };
}

export function buildApp(opts: ControlPlaneOptions) {
  const store = new ConfigStore(opts.configDir, opts.profile, opts.stateDir);
  const registry = new Registry(opts.leaseTtlMs ?? 10_000);
  const app = createServiceApp({ name: 'control-plane', logger: opts.logger });
  const id = opts.peers?.id ?? replicaId();
  const push = new PushServer(registry, store, id, (instance, open) => replicas.publish({ type: 'stream', instance, replica: id, open }));
  let authority: CertificateAuthority | undefined;
  const ca = () => authority!;
  const identity = () => ({
    trustDomain: store.current().config.spec.trustDomain ?? 'meshcart.local',
    namespace: store.current().config.spec.namespace ?? 'default',
  });
  const metrics = new ControlPlaneMetrics();
  const joinCredentials = new JoinCredentials(opts.stateDir && join(opts.stateDir, 'join-credentials.json'));
  joinCredentials.seed(opts.joinCredentials ?? {});
  if (opts.joinCredentialsDir) joinCredentials.provision(opts.joinCredentialsDir);
  const audit = new AuditLog(opts.stateDir && join(opts.stateDir, 'audit.jsonl'));
  const auth = new Auth({
    operatorToken: opts.operatorToken,
    joinCredentials,
    serviceAccounts: opts.serviceAccounts,
    identity,
    lockReads: opts.lockReads,
    metrics,
    log: app.log,
  });
  const replicas: Replicas = new Replicas(registry, store, push, {
    discover: async () => [],
    ...opts.peers,
    id,
    credentials: () =>
      app.ownCredentials && { ...app.ownCredentials, spiffeId: spiffeId(identity().trustDomain, identity().namespace, CONTROL_PLANE_ACCOUNT) },
    caFingerprint: () => ca().rootFingerprint,
    log: { info: (o, m) => app.log.info(o, m), warn: (o, m) => app.log.warn(o, m) },
  });

  const rotation = new CaRotation({
    ca,
    registry,
    store,
    refreshOwnIdentity: () => app.refreshOwnIdentity(),
    hasPeers: () => replicas.status().peers.some((p) => p.state !== 'self'),
    log: { info: (o, m) => app.log.info(o, m), warn: (o, m) => app.log.warn(o, m) },
  });

  registry.start();
  // The CA is ready before the server listens: a broken root stops the start, with its reason.
  app.addHook('onReady', async () => {
    authority = await CertificateAuthority.loadOrCreate(opts.caDir, identity().trustDomain);
    // Every proxy's resources name the roots: a proxy renews when they change (a rotation).
    rotation.publishEpoch();
  });
  // Streams never end on their own: close them first so the server can finish closing.
  app.addHook('preClose', async () => push.close());
  app.addHook('onClose', async () => {
    await replicas.stop();
    registry.stop();
    store.close();
    await opts.serviceAccounts?.close();
  });

  void app.register(authPlugin, { auth });
  void app.register(mtlsListenerPlugin, { ca, identity, ...(opts.tls ?? { host: '127.0.0.1', port: 0 }) });
  // Joins the other replicas (over their mTLS ports, so after this one's) before listening: no proxy is pushed a config about to be replaced.
  void app.register(async (a) => a.addHook('onReady', () => replicas.start()));
  void app.register(proxiesPlugin, { registry, push, replicas, auth, audit, root: app });
  void app.register(certificatesPlugin, { store, ca, auth });
  void app.register(configPlugin, { store, replicas, auth, audit });
  void app.register(faultsPlugin, { store, replicas, auth, audit });
  void app.register(peersPlugin, { replicas, auth });
  void app.register(accessPlugin, { auth, audit, joinCredentials, store, metrics });
  void app.register(caPlugin, { rotation, auth, audit });
  const feed = new DashboardFeed({ registry, store, ...(opts.dashboardIntervalMs ? { intervalMs: opts.dashboardIntervalMs } : {}) });
  void app.register(dashboardPlugin, { feed, auth, dir: opts.dashboardDir });
  void app.register(injectorPlugin, { ca, injector: opts.injector, logger: opts.logger });
  return app;
}
