// The config lifecycle (meshctl apply / diff / history / rollback / profile use) and what it compiles to per service.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import {
  ApplyConfigBody,
  ConfigHistory,
  DiffQuery,
  DryRunQuery,
  ProfileList,
  ProfileParams,
  ProfileSwitchBody,
  RollbackBody,
  ServiceParams,
  VersionParams,
  type ConfigApplied,
  type HistoryEntry,
} from '@meshcart/control-plane-api';
import { diffConfigs, parseMeshConfig } from '@meshcart/mesh-config';
import type { FastifyRequest } from 'fastify';
import type { AuditLog } from '../audit-log';
import type { Auth } from '../auth/auth';
import type { ConfigStore } from '../config-store';
import type { Replicas } from '../replicas';
import { auditedChange, guarded } from './guarded';

export interface ConfigPluginOptions {
  store: ConfigStore;
  replicas: Replicas;
  auth: Auth;
  audit: AuditLog;
}

export const configPlugin: FastifyPluginAsyncTypebox<ConfigPluginOptions> = async (app, opts) => {
  const { store, auth } = opts;
  /** A change that replaces the config whole, answered with every knob it changed. */
  const replace = (req: FastifyRequest, action: string, change: (by: string) => HistoryEntry): ConfigApplied => {
    const before = store.current().config;
    const entry = auditedChange(opts, req, action, change);
    return { version: entry.version, seq: entry.seq, changes: diffConfigs(before, entry.config) };
  };
  const read = (what: string) => ({ preValidation: auth.reader(what) });

  app.get('/api/v1/config', read('the config'), async () => store.current());

  app.post('/api/v1/config', { schema: { body: ApplyConfigBody, querystring: DryRunQuery } }, async (req) => {
    // A dry run changes nothing: anyone who may read the config may ask what a change would do.
    await (req.query.dryRun ? auth.reader('config dry run') : auth.operatorOnly('config apply'))(req);
    const candidate = guarded(() => parseMeshConfig(req.body.yaml, req.body.source ?? 'meshctl apply'));
    const changes = diffConfigs(store.current().config, candidate);
    if (req.query.dryRun) return { dryRun: true, from: store.current().version, changes };
    const source = req.body.source ?? 'meshctl apply';
    const entry = auditedChange(opts, req, `config apply (${source})`, (by) => store.apply(candidate, source, by));
    return { version: entry.version, seq: entry.seq, changes };
  });

  app.get('/api/v1/config/history', { schema: { response: { 200: ConfigHistory } }, ...read('the config history') }, async () => store.versions());

  app.get('/api/v1/config/versions/:version', { schema: { params: VersionParams }, ...read('a config version') }, async (req) =>
    guarded(() => store.get(req.params.version)),
  );

  app.post('/api/v1/config/rollback', { schema: { body: RollbackBody }, preValidation: auth.operatorOnly('config rollback') }, async (req) =>
    replace(req, `rollback to ${req.body.to}`, (by) => store.rollback(req.body.to, by)),
  );

  app.post('/api/v1/config/profile', { schema: { body: ProfileSwitchBody }, preValidation: auth.operatorOnly('profile switch') }, async (req) =>
    replace(req, `profile use ${req.body.profile}`, (by) => store.useProfile(req.body.profile, by)),
  );

  app.get('/api/v1/profiles', { schema: { response: { 200: ProfileList } }, ...read('the profiles') }, async () => store.profiles());

  // What a change did, for the dashboard's history: the knobs that differ between two applied versions.
  app.get('/api/v1/config/diff', { schema: { querystring: DiffQuery }, ...read('a config diff') }, async (req) =>
    guarded(() => diffConfigs(store.get(req.query.from).config, store.get(req.query.to).config)),
  );

  app.get('/api/v1/profiles/:profile', { schema: { params: ProfileParams }, ...read('a profile') }, async (req) =>
    guarded(() => store.loadProfile(req.params.profile)),
  );

  app.get('/api/v1/services/:service/resources', { schema: { params: ServiceParams }, ...read("a service's resources") }, async (req) =>
    store.resourcesFor(req.params.service),
  );
};
