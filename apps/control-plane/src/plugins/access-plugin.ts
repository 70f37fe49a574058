// Who may join and what was changed: join credentials (meshctl join), the audit trail (meshctl history --audit), refusals in /metrics.
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { AuditTrail, JoinCreateBody, JoinCreated, JoinCredentialList, JoinRevokeBody, JoinRevoked } from '@meshcart/control-plane-api';
import { conflict, notFound } from '@meshcart/service-kit';
import type { AuditLog } from '../audit-log';
import type { Auth } from '../auth/auth';
import { describe } from '../auth/caller';
import type { JoinCredentials } from '../auth/join-credentials';
import type { ConfigStore } from '../config-store';
import type { ControlPlaneMetrics } from '../metrics';

export interface AccessPluginOptions {
  auth: Auth;
  audit: AuditLog;
  joinCredentials: JoinCredentials;
  store: ConfigStore;
  metrics: ControlPlaneMetrics;
}

export const accessPlugin: FastifyPluginAsyncTypebox<AccessPluginOptions> = async (app, { auth, audit, joinCredentials, store, metrics }) => {
  app.get(
    '/api/v1/join-credentials',
    { schema: { response: { 200: JoinCredentialList } }, preValidation: auth.operatorOnly('join list') },
    async () => joinCredentials.list(),
  );

  app.post(
    '/api/v1/join-credentials',
    { schema: { body: JoinCreateBody, response: { 200: JoinCreated } }, preValidation: auth.operatorOnly('join create') },
    async (req) => {
      const known = [...Object.keys(store.current().config.spec.services), 'gateway'];
      if (!known.includes(req.body.service)) throw notFound('UNKNOWN_SERVICE', `no service "${req.body.service}"; known: ${known.join(', ')}`);
      const created = joinCredentials.create(req.body.service);
      audit.record({ by: describe(req.caller), action: `join create ${created.credential.id} (${req.body.service})` });
      return created;
    },
  );

  app.post(
    '/api/v1/join-credentials/revoke',
    { schema: { body: JoinRevokeBody, response: { 200: JoinRevoked } }, preValidation: auth.operatorOnly('join revoke') },
    async (req) => {
      let revoked;
      try {
        revoked = joinCredentials.revoke(req.body);
      } catch (err) {
        throw conflict('AMBIGUOUS_CREDENTIAL_ID', (err as Error).message);
      }
      if (revoked.length === 0) throw notFound('NO_SUCH_CREDENTIAL', `no unrevoked join credential matches ${JSON.stringify(req.body)}`);
      audit.record({ by: describe(req.caller), action: `join revoke ${revoked.map((c) => `${c.id} (${c.service})`).join(', ')}` });
      return { revoked };
    },
  );

  app.get('/api/v1/audit', { schema: { response: { 200: AuditTrail } }, preValidation: auth.reader('the audit trail') }, async () => audit.list());

  app.get('/metrics', { preValidation: auth.reader('the metrics') }, async (_req, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
};
