// The control plane: registry, config store and push server behind a small HTTP API.
import {
  ApplyConfigBody,
  CertificateRequest,
  ConfigHistory,
  DryRunQuery,
  InstanceParams,
  Lease,
  PeerBatch,
  PeersView,
  ProfileParams,
  ProfileSwitchBody,
  ProxyList,
  PushAck,
  Registration,
  RollbackBody,
  ServiceParams,
  VersionParams,
  type HistoryEntry,
} from '@meshcart/control-plane-api';
import { ConfigError, diffConfigs, durationMs, Fault, parseMeshConfig } from '@meshcart/mesh-config';
import { timingSafeEqual } from 'node:crypto';
import { CertificateAuthority, CsrRejectedError, spiffeId } from './certificate-authority';
import { createServiceApp, HttpError, notFound, unauthorized, type ServiceAppOptions } from '@meshcart/service-kit';
import { ConfigStore, UnknownVersionError } from './config-store';
import { startInjector, type InjectorOptions } from './injector-server';
import { PushServer } from './push-server';
import { Registry, registrationOf } from './registry';
import { PeerCaMismatchError, replicaId, Replicas, type ReplicasOptions } from './replicas';

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
  const replicas: Replicas = new Replicas(registry, store, push, {
    discover: async () => [],
    ...opts.peers,
    id,
    token: opts.bootstrapToken,
    caFingerprint: () => ca!.rootFingerprint,
    log: { info: (o, m) => app.log.info(o, m), warn: (o, m) => app.log.warn(o, m) },
  });

  registry.start();
  // The CA is ready before the server listens: a broken root stops the start, with its reason.
  let ca: CertificateAuthority | undefined;
  let injector: Awaited<ReturnType<typeof startInjector>> | undefined;
  app.decorate('injectorPort', 0);
  app.addHook('onReady', async () => {
    ca = await CertificateAuthority.loadOrCreate(opts.caDir, store.current().config.spec.trustDomain ?? 'meshcart.local');
    if (opts.injector) {
      injector = await startInjector(ca, opts.injector, opts.logger);
      app.injectorPort = (injector.server.address() as { port: number }).port;
    }
    // Joins the other replicas before listening: no proxy is pushed a config about to be replaced.
    await replicas.start();
  });
  const token = Buffer.from(opts.bootstrapToken);
  const tokenOk = (header: string | undefined) => {
    const given = Buffer.from(header?.replace(/^Bearer /, '') ?? '');
    return given.length === token.length && timingSafeEqual(given, token);
  };
  // Streams never end on their own: close them first so the server can finish closing.
  app.addHook('preClose', async () => push.close());
  app.addHook('onClose', async () => {
    await replicas.stop();
    registry.stop();
    store.close();
    await injector?.close();
  });

  app.put('/api/v1/proxies/:instance', { schema: { params: InstanceParams, body: Registration, response: { 200: Lease } }, logLevel: 'warn' }, async (req) => {
    const rec = registry.upsert({ ...req.body, instance: req.params.instance });
    replicas.publish({ type: 'register', registration: registrationOf(rec) });
    return { instance: rec.instance, leaseTtlMs: registry.leaseTtlMs };
  });

  app.delete('/api/v1/proxies/:instance', { schema: { params: InstanceParams } }, async (req, reply) => {
    registry.remove(req.params.instance);
    replicas.publish({ type: 'leave', instance: req.params.instance });
    return reply.code(204).send();
  });

  app.get('/api/v1/proxies/:instance/stream', { schema: { params: InstanceParams } }, async (req, reply) => {
    const rec = registry.get(req.params.instance);
    if (!rec) throw notFound('PROXY_NOT_REGISTERED', `proxy "${req.params.instance}" is not registered: PUT /api/v1/proxies/${req.params.instance} first`);
    reply.hijack();
    push.subscribe(rec.instance, rec.service, reply.raw);
  });

  app.post('/api/v1/proxies/:instance/acks', { schema: { params: InstanceParams, body: PushAck }, logLevel: 'warn' }, async (req, reply) => {
    const { kind, version, error, rejectedVersion } = req.body;
    const state = { version, acked: !error, at: new Date().toISOString(), ...(error ? { error, rejectedVersion } : {}) };
    if (!registry.ack(req.params.instance, kind, state)) throw notFound('PROXY_NOT_REGISTERED', `proxy "${req.params.instance}" is not registered`);
    replicas.publish({ type: 'ack', instance: req.params.instance, kind, state });
    if (error) req.log.warn({ instance: req.params.instance, kind, rejectedVersion, error }, 'proxy refused a push (NACK)');
    return reply.code(204).send();
  });

  app.get('/api/v1/proxies', { schema: { response: { 200: ProxyList } } }, async () =>
    registry.list().map((p) => ({
      service: p.service,
      instance: p.instance,
      mode: p.mode,
      adminUrl: p.adminUrl ?? null,
      endpointUrl: p.endpointUrl ?? null,
      configVersion: p.configVersion ?? null,
      endpointsVersion: p.endpointsVersion ?? null,
      certNotAfter: p.certNotAfter ?? null,
      connected: p.streamAt !== undefined,
      controlPlane: p.streamAt ?? null,
      acks: p.acks,
      lastSeen: new Date(p.lastSeen).toISOString(),
    })),
  );

  app.get('/api/v1/config', async () => store.current());

  app.get('/api/v1/endpoints', async () => push.currentEndpoints());

  // Identity: a workload with the bootstrap token gets a short-lived certificate for its service's SPIFFE ID.
  app.post('/api/v1/certificates', { schema: { body: CertificateRequest } }, async (req) => {
    if (!tokenOk(req.headers.authorization)) throw unauthorized('a valid bootstrap token is required (Authorization: Bearer <MESH_BOOTSTRAP_TOKEN>)');
    const { config } = store.current();
    const id = spiffeId(config.spec.trustDomain ?? 'meshcart.local', config.spec.namespace ?? 'default', req.body.service);
    try {
      return await ca!.issue(req.body.csr, id, durationMs(config.spec.mtls?.certTtl ?? '24h'));
    } catch (err) {
      if (err instanceof CsrRejectedError) throw new HttpError(400, err.code, err.message);
      throw err;
    }
  });
  app.get('/api/v1/ca', async (_req, reply) => reply.type('application/x-pem-file').send(ca!.rootPem));

  /** Runs a config change; one that would make the config invalid is refused whole, naming every problem. */
  const guarded = <T>(fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      if (err instanceof ConfigError) throw new HttpError(400, 'INVALID_CONFIG', err.message, err.issues.map((i) => ({ path: i.path, message: i.message })));
      if (err instanceof UnknownVersionError) throw new HttpError(404, err.code, err.message);
      if (err instanceof PeerCaMismatchError) throw new HttpError(409, err.code, err.message);
      if (err instanceof Error && /profile "|ENOENT/.test(err.message)) throw new HttpError(404, 'UNKNOWN_PROFILE', err.message);
      throw err;
    }
  };
  const summary = () => {
    const { profile, version, config } = store.current();
    return { profile, version, services: Object.keys(config.spec.services) };
  };
  /** Every config change made here goes to the other replicas, which push it to their proxies. */
  const shared = (entry: HistoryEntry) => {
    replicas.publish({ type: 'config', entry });
    return entry;
  };
  const patch = (change: Parameters<ConfigStore['patch']>[0], source: string) => {
    shared(guarded(() => store.patch(change, source)));
    return summary();
  };

  // Config lifecycle (meshctl apply / diff / history / rollback / profile use).
  app.post('/api/v1/config', { schema: { body: ApplyConfigBody, querystring: DryRunQuery } }, async (req) => {
    const candidate = guarded(() => parseMeshConfig(req.body.yaml, req.body.source ?? 'meshctl apply'));
    const changes = diffConfigs(store.current().config, candidate);
    if (req.query.dryRun) return { dryRun: true, from: store.current().version, changes };
    const entry = shared(guarded(() => store.apply(candidate, req.body.source ?? 'meshctl apply')));
    return { version: entry.version, seq: entry.seq, changes };
  });
  app.get('/api/v1/config/history', { schema: { response: { 200: ConfigHistory } } }, async () => store.versions());
  app.get('/api/v1/config/versions/:version', { schema: { params: VersionParams } }, async (req) => guarded(() => store.get(req.params.version)));
  app.post('/api/v1/config/rollback', { schema: { body: RollbackBody } }, async (req) => {
    const before = store.current().config;
    const entry = shared(guarded(() => store.rollback(req.body.to)));
    return { version: entry.version, seq: entry.seq, changes: diffConfigs(before, entry.config) };
  });
  app.post('/api/v1/config/profile', { schema: { body: ProfileSwitchBody } }, async (req) => {
    const before = store.current().config;
    const entry = shared(guarded(() => store.useProfile(req.body.profile)));
    return { version: entry.version, seq: entry.seq, changes: diffConfigs(before, entry.config) };
  });
  app.get('/api/v1/profiles/:profile', { schema: { params: ProfileParams } }, async (req) =>
    guarded(() => store.loadProfile(req.params.profile)),
  );
  app.get('/api/v1/services/:service/resources', { schema: { params: ServiceParams } }, async (req) =>
    store.resourcesFor(req.params.service),
  );
  const knownService = (service: string) => {
    if (!(service in store.current().config.spec.services)) {
      throw notFound('UNKNOWN_SERVICE', `no service "${service}"; known: ${Object.keys(store.current().config.spec.services).join(', ')}`);
    }
  };

  // Replicas (replicas.ts): batches from peers, and this replica's view of them.
  app.post(
    '/api/v1/peers/events',
    {
      schema: { body: PeerBatch },
      bodyLimit: 64 * 1024 * 1024,
      logLevel: 'warn',
      // Before the body is even validated: a caller without the token learns nothing of the schema.
      preValidation: async (req) => {
        if (!tokenOk(req.headers.authorization)) throw unauthorized('peer replicas present the bootstrap token (Authorization: Bearer <MESH_BOOTSTRAP_TOKEN>)');
      },
    },
    async (req) => guarded(() => replicas.receive(req.body)),
  );
  app.get('/api/v1/peers', { schema: { response: { 200: PeersView } } }, async () => replicas.status());

  // Drills (`meshctl fault`): a fault on every route of one service, pushed to every proxy at once.
  app.put('/api/v1/services/:service/fault', { schema: { params: ServiceParams, body: Fault } }, async (req) => {
    knownService(req.params.service);
    return patch((draft) => void (draft.spec.services[req.params.service]!.fault = req.body), `fault on ${req.params.service}`);
  });
  app.delete('/api/v1/services/:service/fault', { schema: { params: ServiceParams } }, async (req) => {
    knownService(req.params.service);
    return patch((draft) => void delete draft.spec.services[req.params.service]!.fault, `fault cleared on ${req.params.service}`);
  });
  app.delete('/api/v1/faults', async () =>
    patch((draft) => {
      for (const svc of Object.values(draft.spec.services)) delete svc.fault;
    }, 'faults cleared'),
  );
  app.get('/api/v1/faults', async () =>
    Object.fromEntries(Object.entries(store.current().config.spec.services).flatMap(([name, svc]) => (svc.fault ? [[name, svc.fault]] : []))),
  );

  return app;
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The injection webhook's HTTPS port, once listening (0 when it is not served). */
    injectorPort: number;
  }
}
