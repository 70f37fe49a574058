// meshctl join (per-service join credentials) and meshctl history --audit (who changed what).
import {
  AuditTrail,
  ContractCheck,
  JoinCreated,
  JoinCredentialList,
  JoinRevoked,
  type JoinCreateBody,
  type JoinRevokeBody,
} from '@meshcart/control-plane-api';
import { parseArgs } from 'node:util';
import type { ControlPlaneApi } from './control-plane-api';
import { UsageError } from './fault-command';
import { table, type Output } from './output';

const joinCreated = new ContractCheck(JoinCreated);
const joinList = new ContractCheck(JoinCredentialList);
const joinRevoked = new ContractCheck(JoinRevoked);
const auditTrail = new ContractCheck(AuditTrail);

export const ACCESS_USAGE = `  meshctl join list                      every join credential: id, service, origin, revoked
  meshctl join create SERVICE            a new join credential for SERVICE (shown once; give it to that service only)
  meshctl join revoke ID | --service S   revoke one credential, or every one of a service
  meshctl history --audit                every change made through the control plane: who, what, version before and after`;

export async function joinCommand(api: ControlPlaneApi, args: string[], out: Output): Promise<void> {
  const [sub, ...rest] = args;
  switch (sub) {
    case 'list': {
      const list = await api.call('GET', '/api/v1/join-credentials', joinList);
      table(
        out,
        ['id', 'service', 'origin', 'created', 'revoked'],
        list.map((c) => [c.id, c.service, c.origin, c.createdAt, c.revokedAt ?? '']),
        list,
      );
      return;
    }
    case 'create': {
      const [service] = rest;
      if (!service) throw new UsageError('join create needs a SERVICE');
      const res = await api.call('POST', '/api/v1/join-credentials', joinCreated, { service } satisfies JoinCreateBody);
      if (out.json) return out.line(JSON.stringify(res, null, 2));
      out.line(`join credential ${res.credential.id} for ${service} (shown once; the control plane keeps only its hash):`);
      out.line(res.token);
      out.line(`give it to ${service}'s processes only, as MESH_JOIN_TOKEN`);
      return;
    }
    case 'revoke': {
      const { values, positionals } = parseArgs({ args: rest, options: { service: { type: 'string' } }, allowPositionals: true });
      const [id] = positionals;
      if (!id === !values.service) throw new UsageError('join revoke needs an ID or --service SERVICE (one of them)');
      const body: JoinRevokeBody = id ? { id } : { service: values.service! };
      const res = await api.call('POST', '/api/v1/join-credentials/revoke', joinRevoked, body);
      if (!out.json)
        out.line(
          `revoked ${res.revoked.length}: workloads holding it get no new certificate, and certificates issued on it no longer talk to the control plane`,
        );
      table(
        out,
        ['id', 'service', 'revoked'],
        res.revoked.map((c) => [c.id, c.service, c.revokedAt ?? '']),
        res,
      );
      return;
    }
    default:
      throw new UsageError('usage: meshctl join list | create SERVICE | revoke ID | revoke --service SERVICE');
  }
}

export async function auditCommand(api: ControlPlaneApi, out: Output): Promise<void> {
  const trail = await api.call('GET', '/api/v1/audit', auditTrail);
  table(
    out,
    ['at', 'by', 'what', 'before', 'after'],
    trail.map((e) => [e.at, e.by, e.action, e.before ?? '', e.after ?? '']),
    trail,
  );
}
