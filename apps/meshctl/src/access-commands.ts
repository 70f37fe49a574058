// meshctl join (per-service join credentials), meshctl history --audit (who changed what) and meshctl ca (the roots, and their rotation).
import {
  AuditTrail,
  CaStatus,
  ContractCheck,
  JoinCreated,
  JoinCredentialList,
  JoinRevoked,
  type JoinCreateBody,
  type JoinRevokeBody,
} from '@meshcart/control-plane-api';
import { parseArgs } from 'node:util';
import { ApiError, type ControlPlaneApi } from './control-plane-api';
import { UsageError } from './fault-command';
import { table, type Output } from './output';

const joinCreated = new ContractCheck(JoinCreated);
const joinList = new ContractCheck(JoinCredentialList);
const joinRevoked = new ContractCheck(JoinRevoked);
const auditTrail = new ContractCheck(AuditTrail);
const caStatus = new ContractCheck(CaStatus);

export const ACCESS_USAGE = `  meshctl join list                      every join credential: id, service, origin, revoked
  meshctl join create SERVICE            a new join credential for SERVICE (shown once; give it to that service only)
  meshctl join revoke ID | --service S   revoke one credential, or every one of a service
  meshctl history --audit                every change made through the control plane: who, what, version before and after
  meshctl ca status                      the CA's roots (signing, staged, retired) and any rotation under way
  meshctl ca rotate                      a new root, without downtime: trusted by all, then signing, then the old one retired`;

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

function rootsTable(out: Output, status: CaStatus): void {
  table(
    out,
    ['root', 'role', 'subject', 'not after'],
    status.roots.map((r) => [r.fingerprint.slice(0, 16), r.role, r.subject, r.notAfter]),
    status,
  );
}

export async function caCommand(
  api: ControlPlaneApi,
  args: string[],
  out: Output,
  sleep = (ms: number) => new Promise((r) => setTimeout(r, ms)),
): Promise<void> {
  const [sub] = args;
  if (sub === 'status') {
    const status = await api.call('GET', '/api/v1/ca/status', caStatus);
    if (!out.json) {
      out.line(`phase ${status.phase}, trust epoch ${status.trustEpoch}`);
      if (status.rotation.step) out.line(`rotation: ${status.rotation.running ? 'running' : 'last'}: ${status.rotation.step}`);
      if (status.rotation.error) out.line(`rotation stopped: ${status.rotation.error}`);
    }
    rootsTable(out, status);
    return;
  }
  if (sub !== 'rotate') throw new UsageError('usage: meshctl ca status | meshctl ca rotate');
  let status = await api.call('POST', '/api/v1/ca/rotate', caStatus);
  // Each step is said once, with who it still waits for, until the rotation ends.
  let said = '';
  while (status.rotation.running) {
    const line = `${status.rotation.step ?? 'starting'}${status.rotation.waitingFor.length ? ` (waiting for ${status.rotation.waitingFor.join(', ')})` : ''}`;
    if (line !== said && !out.json) out.line(line);
    said = line;
    await sleep(250);
    status = await api.call('GET', '/api/v1/ca/status', caStatus);
  }
  if (status.rotation.error) throw new ApiError(`the rotation stopped: ${status.rotation.error}; run meshctl ca rotate again to finish it`);
  if (!out.json) out.line(status.rotation.step ?? 'done');
  rootsTable(out, status);
}
