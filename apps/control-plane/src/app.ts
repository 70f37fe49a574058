// The control plane: registry, config store and push server behind a small HTTP API, one plugin per concern.
import { createServiceApp, type ServiceAppOptions } from '@meshcart/service-kit';
import { CertificateAuthority } from './certificate-authority';
import { ConfigStore } from './config-store';
import type { InjectorOptions } from './injector-server';
import { certificatesPlugin } from './plugins/certificates-plugin';
import { configPlugin } from './plugins/config-plugin';
import { faultsPlugin } from './plugins/faults-plugin';
import { injectorPlugin } from './plugins/injector-plugin';
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
  /** Workloads present this to get a certificate. */
  bootstrapToken: string;
  /** Where applied config versions are kept (history for diff and rollback); in memory only if absent. */
  stateDir?: string;
  leaseTtlMs?: number;
  logger?: ServiceAppOptions['logger'];
  /** Also serve the sidecar injection webhook (Kubernetes), over HTTPS with a certificate from this CA. */
  injector?: InjectorOptions;
  /** Other replicas of this control plane, to share one registry and config with (see replicas.ts). */
  peers?: Omit<ReplicasOptions, 'token' | 'log' | 'id' | 'caFingerprint'> & { id?: string };
}

export function buildApp(opts: ControlPlaneOptions) {
  const store = new ConfigStore(opts.configDir, opts.profile, opts.stateDir);
  const registry = new Registry(opts.leaseTtlMs ?? 10_000);
  const app = createServiceApp({ name: 'control-plane', logger: opts.logger });
  const id = opts.peers?.id ?? replicaId();
  const push = new PushServer(registry, store, id, (instance, open) => replicas.publish({ type: 'stream', instance, replica: id, open }));
  let authority: CertificateAuthority | undefined;
  const ca = () => authority!;
  const replicas: Replicas = new Replicas(registry, store, push, {
    discover: async () => [],
    ...opts.peers,
    id,
    token: opts.bootstrapToken,
    caFingerprint: () => ca().rootFingerprint,
    log: { info: (o, m) => app.log.info(o, m), warn: (o, m) => app.log.warn(o, m) },
  });

  registry.start();
  // The CA is ready before the server listens: a broken root stops the start, with its reason.
  app.addHook('onReady', async () => {
    authority = await CertificateAuthority.loadOrCreate(opts.caDir, store.current().config.spec.trustDomain ?? 'meshcart.local');
    // Joins the other replicas before listening: no proxy is pushed a config about to be replaced.
    await replicas.start();
  });
  // Streams never end on their own: close them first so the server can finish closing.
  app.addHook('preClose', async () => push.close());
  app.addHook('onClose', async () => {
    await replicas.stop();
    registry.stop();
    store.close();
  });

  void app.register(proxiesPlugin, { registry, push, replicas });
  void app.register(certificatesPlugin, { store, ca, bootstrapToken: opts.bootstrapToken });
  void app.register(configPlugin, { store, replicas });
  void app.register(faultsPlugin, { store, replicas });
  void app.register(peersPlugin, { replicas, bootstrapToken: opts.bootstrapToken });
  void app.register(injectorPlugin, { ca, injector: opts.injector, logger: opts.logger });
  return app;
}
