// Proxies: register (the same PUT is the heartbeat), leave, the push stream, ACKs, the list meshctl shows, the endpoints.
// Each call is the proxy's own: a workload of the proxy's service, proven by its certificate or join credential.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { DrainState, InstanceParams, Lease, ProxyList, PushAck, Registration, type ProxyView } from '@meshcart/control-plane-api';
import { HttpError, notFound } from '@meshcart/service-kit';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuditLog } from '../audit-log';
import type { Auth } from '../auth/auth';
import { describe, type Attestation } from '../auth/caller';
import type { PushServer } from '../push-server';
import { registrationOf, type ProxyRecord, type Registry } from '../registry';
import type { Replicas } from '../replicas';

export interface ProxiesPluginOptions {
  registry: Registry;
  push: PushServer;
  replicas: Replicas;
  auth: Auth;
  audit: AuditLog;
  /** The app whose mTLS port (tlsPort) each lease names. */
  root: FastifyInstance;
}

/** A proxy as GET /api/v1/proxies lists it (the dashboard's stream shows the same). */
export const proxyView = (p: ProxyRecord, attestedBy?: ProxyView['attestedBy'], drained = false): ProxyView => ({
  service: p.service,
  instance: p.instance,
  mode: p.mode,
  adminUrl: p.adminUrl ?? null,
  endpointUrl: p.endpointUrl ?? null,
  configVersion: p.configVersion ?? null,
  endpointsVersion: p.endpointsVersion ?? null,
  certNotAfter: p.certNotAfter ?? null,
  ...(p.trustEpoch ? { trustEpoch: p.trustEpoch } : {}),
  connected: p.streamAt !== undefined,
  controlPlane: p.streamAt ?? null,
  acks: p.acks,
  lastSeen: new Date(p.lastSeen).toISOString(),
  ...(attestedBy ? { attestedBy } : {}),
  ...(drained ? { drained } : {}),
});

/** Proxies that carry mesh traffic: their endpoint speaks mTLS, and may not be registered as plaintext. */
const MESH_MODES = new Set(['sidecar', 'proxyless']);

export const proxiesPlugin: FastifyPluginAsyncTypebox<ProxiesPluginOptions> = async (app, { registry, push, replicas, auth, audit, root }) => {
  /** How each proxy proved its service when it last registered here. */
  const attested = new Map<string, Attestation>();
  // An instance whose lease expired is forgotten here too.
  registry.on('change', () => {
    for (const instance of attested.keys()) if (!registry.get(instance)) attested.delete(instance);
  });
  /** The registered proxy `instance`, which only a workload of its own service may act for. */
  const ownProxy = (req: FastifyRequest, instance: string, action: string, operatorToo = false): ProxyRecord | undefined => {
    const rec = registry.get(instance);
    auth.workloadOf(req, `${action} ${instance}`, rec?.service, operatorToo);
    return rec;
  };

  const registration = { params: InstanceParams, body: Registration, response: { 200: Lease } };
  app.put('/api/v1/proxies/:instance', { schema: registration, logLevel: 'warn' }, async (req) => {
    const { instance } = req.params;
    auth.workloadOf(req, `register ${instance}`, req.body.service);
    const existing = registry.get(instance);
    if (existing && existing.service !== req.body.service)
      throw auth.refuse(
        req,
        `register ${instance}`,
        `${instance} is an instance of ${existing.service}; an instance keeps its service until it leaves`,
      );
    if (MESH_MODES.has(req.body.mode) && req.body.endpointUrl && !req.body.mtls)
      throw new HttpError(
        400,
        'PLAINTEXT_MESH_ENDPOINT',
        `a ${req.body.mode} proxy's endpoint must accept mTLS ("mtls": true): callers would otherwise send ${req.body.service} its traffic in plaintext`,
      );
    const rec = registry.upsert({ ...req.body, instance });
    if (req.caller.kind === 'workload') attested.set(instance, req.caller.via);
    replicas.publish({ type: 'register', registration: registrationOf(rec) });
    return { instance: rec.instance, leaseTtlMs: registry.leaseTtlMs, ...(root.tlsPort ? { tlsPort: root.tlsPort } : {}) };
  });

  // A proxy leaves; an operator may remove any instance, which the audit trail keeps (its next heartbeat
  // registers it again: a lasting drain is POST /api/v1/proxies/:instance/drain).
  app.delete('/api/v1/proxies/:instance', { schema: { params: InstanceParams } }, async (req, reply) => {
    const rec = ownProxy(req, req.params.instance, 'leave', true);
    registry.remove(req.params.instance);
    attested.delete(req.params.instance);
    replicas.publish({ type: 'leave', instance: req.params.instance });
    if (req.caller.kind === 'operator' && rec) audit.record({ by: describe(req.caller), action: `drain ${rec.instance} (${rec.service})` });
    return reply.code(204).send();
  });

  // Draining: the instance stays registered and configured but leaves every endpoint list, across its
  // heartbeats, until it is undrained (unlike DELETE, which its next heartbeat undoes).
  const drain = (req: FastifyRequest, instance: string, drained: boolean): DrainState => {
    const rec = registry.get(instance);
    if (drained && !rec) throw notFound('PROXY_NOT_REGISTERED', `proxy "${instance}" is not registered: GET /api/v1/proxies lists the instances`);
    if (registry.setDrained(instance, drained)) {
      replicas.publish({ type: 'drain', instance, drained });
      audit.record({ by: describe(req.caller), action: `${drained ? 'drain' : 'undrain'} ${instance}${rec ? ` (${rec.service})` : ''}` });
    }
    return { instance, drained: registry.isDrained(instance) } satisfies DrainState;
  };
  app.post(
    '/api/v1/proxies/:instance/drain',
    { schema: { params: InstanceParams, response: { 200: DrainState } }, preValidation: auth.operatorOnly('drain') },
    async (req) => drain(req, req.params.instance, true),
  );
  app.delete(
    '/api/v1/proxies/:instance/drain',
    { schema: { params: InstanceParams, response: { 200: DrainState } }, preValidation: auth.operatorOnly('undrain') },
    async (req) => drain(req, req.params.instance, false),
  );

  app.get('/api/v1/proxies/:instance/stream', { schema: { params: InstanceParams } }, async (req, reply) => {
    const rec = ownProxy(req, req.params.instance, 'stream');
    if (!rec) {
      throw notFound('PROXY_NOT_REGISTERED', `proxy "${req.params.instance}" is not registered: PUT /api/v1/proxies/${req.params.instance} first`);
    }
    reply.hijack();
    push.subscribe(rec.instance, rec.service, reply.raw);
  });

  app.post('/api/v1/proxies/:instance/acks', { schema: { params: InstanceParams, body: PushAck }, logLevel: 'warn' }, async (req, reply) => {
    ownProxy(req, req.params.instance, 'ack for');
    const { kind, version, error, rejectedVersion } = req.body;
    const state = { version, acked: !error, at: new Date().toISOString(), ...(error ? { error, rejectedVersion } : {}) };
    if (!registry.ack(req.params.instance, kind, state)) throw notFound('PROXY_NOT_REGISTERED', `proxy "${req.params.instance}" is not registered`);
    replicas.publish({ type: 'ack', instance: req.params.instance, kind, state });
    if (error) req.log.warn({ instance: req.params.instance, kind, rejectedVersion, error }, 'proxy refused a push (NACK)');
    return reply.code(204).send();
  });

  app.get('/api/v1/proxies', { schema: { response: { 200: ProxyList } }, preValidation: auth.reader('the proxies') }, async () =>
    registry.list().map((p) => proxyView(p, attested.get(p.instance), registry.isDrained(p.instance))),
  );

  app.get('/api/v1/endpoints', { preValidation: auth.reader('the endpoints') }, async () => push.currentEndpoints());
};
