// The config lifecycle (meshctl apply / diff / history / rollback / profile use) and what it compiles to per service.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  ApplyConfigBody,
  ConfigHistory,
  DryRunQuery,
  ProfileParams,
  ProfileSwitchBody,
  RollbackBody,
  ServiceParams,
  VersionParams,
  type ConfigApplied,
  type HistoryEntry,
} from '@meshcart/control-plane-api';
import { diffConfigs, parseMeshConfig } from '@meshcart/mesh-config';
import type { ConfigStore } from '../config-store';
import type { Replicas } from '../replicas';
import { guarded, sharedChange } from './guarded';

export interface ConfigPluginOptions {
  store: ConfigStore;
  replicas: Replicas;
}

export const configPlugin: FastifyPluginAsyncTypebox<ConfigPluginOptions> = async (app, { store, replicas }) => {
  /** A change that replaces the config whole, answered with every knob it changed. */
  const replace = (change: () => HistoryEntry): ConfigApplied => {
    const before = store.current().config;
    const entry = sharedChange(replicas, change);
    return { version: entry.version, seq: entry.seq, changes: diffConfigs(before, entry.config) };
  };

  app.get('/api/v1/config', async () => store.current());

  app.post('/api/v1/config', { schema: { body: ApplyConfigBody, querystring: DryRunQuery } }, async (req) => {
    const candidate = guarded(() => parseMeshConfig(req.body.yaml, req.body.source ?? 'meshctl apply'));
    const changes = diffConfigs(store.current().config, candidate);
    if (req.query.dryRun) return { dryRun: true, from: store.current().version, changes };
    const entry = sharedChange(replicas, () => store.apply(candidate, req.body.source ?? 'meshctl apply'));
    return { version: entry.version, seq: entry.seq, changes };
  });

  app.get('/api/v1/config/history', { schema: { response: { 200: ConfigHistory } } }, async () => store.versions());

  app.get('/api/v1/config/versions/:version', { schema: { params: VersionParams } }, async (req) => guarded(() => store.get(req.params.version)));

  app.post('/api/v1/config/rollback', { schema: { body: RollbackBody } }, async (req) => replace(() => store.rollback(req.body.to)));

  app.post('/api/v1/config/profile', { schema: { body: ProfileSwitchBody } }, async (req) => replace(() => store.useProfile(req.body.profile)));

  app.get('/api/v1/profiles/:profile', { schema: { params: ProfileParams } }, async (req) => guarded(() => store.loadProfile(req.params.profile)));

  app.get('/api/v1/services/:service/resources', { schema: { params: ServiceParams } }, async (req) => store.resourcesFor(req.params.service));
};
