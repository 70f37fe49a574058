// Proxies: register (the same PUT is the heartbeat), leave, the push stream, ACKs, the list meshctl shows, the endpoints.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { InstanceParams, Lease, ProxyList, PushAck, Registration, type ProxyView } from '@meshcart/control-plane-api';
import { notFound } from '@meshcart/service-kit';
import type { PushServer } from '../push-server';
import { registrationOf, type ProxyRecord, type Registry } from '../registry';
import type { Replicas } from '../replicas';

export interface ProxiesPluginOptions {
  registry: Registry;
  push: PushServer;
  replicas: Replicas;
}

const view = (p: ProxyRecord): ProxyView => ({
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
});

export const proxiesPlugin: FastifyPluginAsyncTypebox<ProxiesPluginOptions> = async (app, { registry, push, replicas }) => {
  const registration = { params: InstanceParams, body: Registration, response: { 200: Lease } };
  app.put('/api/v1/proxies/:instance', { schema: registration, logLevel: 'warn' }, async (req) => {
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
    if (!rec) {
      throw notFound('PROXY_NOT_REGISTERED', `proxy "${req.params.instance}" is not registered: PUT /api/v1/proxies/${req.params.instance} first`);
    }
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

  app.get('/api/v1/proxies', { schema: { response: { 200: ProxyList } } }, async () => registry.list().map(view));

  app.get('/api/v1/endpoints', async () => push.currentEndpoints());
};
