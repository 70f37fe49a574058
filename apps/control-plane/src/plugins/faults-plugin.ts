// Drills (`meshctl fault`): a fault on every route of one service, pushed to every proxy at once. Only an operator sets or clears one.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { ServiceParams, type ConfigSummary, type FaultList } from '@meshcart/control-plane-api';
import { Fault, type MeshConfig } from '@meshcart/mesh-config';
import { notFound } from '@meshcart/service-kit';
import type { FastifyRequest } from 'fastify';
import type { AuditLog } from '../audit-log';
import type { Auth } from '../auth/auth';
import type { ConfigStore } from '../config-store';
import type { Replicas } from '../replicas';
import { auditedChange } from './guarded';

export interface FaultsPluginOptions {
  store: ConfigStore;
  replicas: Replicas;
  auth: Auth;
  audit: AuditLog;
}

export const faultsPlugin: FastifyPluginAsyncTypebox<FaultsPluginOptions> = async (app, opts) => {
  const { store, auth } = opts;
  const knownService = (service: string) => {
    if (!(service in store.current().config.spec.services)) {
      throw notFound('UNKNOWN_SERVICE', `no service "${service}"; known: ${Object.keys(store.current().config.spec.services).join(', ')}`);
    }
  };
  const patch = (req: FastifyRequest, change: (draft: MeshConfig) => void, source: string): ConfigSummary => {
    auditedChange(opts, req, source, (by) => store.patch(change, source, by));
    const { profile, version, config } = store.current();
    return { profile, version, services: Object.keys(config.spec.services) };
  };

  app.put(
    '/api/v1/services/:service/fault',
    { schema: { params: ServiceParams, body: Fault }, preValidation: auth.operatorOnly('fault set') },
    async (req) => {
      knownService(req.params.service);
      return patch(req, (draft) => void (draft.spec.services[req.params.service]!.fault = req.body), `fault on ${req.params.service}`);
    },
  );

  app.delete(
    '/api/v1/services/:service/fault',
    { schema: { params: ServiceParams }, preValidation: auth.operatorOnly('fault clear') },
    async (req) => {
      knownService(req.params.service);
      return patch(req, (draft) => void delete draft.spec.services[req.params.service]!.fault, `fault cleared on ${req.params.service}`);
    },
  );

  app.delete('/api/v1/faults', { preValidation: auth.operatorOnly('faults clear') }, async (req) =>
    patch(
      req,
      (draft) => {
        for (const svc of Object.values(draft.spec.services)) delete svc.fault;
      },
      'faults cleared',
    ),
  );

  app.get('/api/v1/faults', { preValidation: auth.reader('the faults') }, async (): Promise<FaultList> =>
    Object.fromEntries(Object.entries(store.current().config.spec.services).flatMap(([name, svc]) => (svc.fault ? [[name, svc.fault]] : []))),
  );
};
