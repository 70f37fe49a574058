// How the control plane answers a config change it refuses, and how a change it makes reaches the other replicas.
import type { HistoryEntry } from '@meshcart/control-plane-api';
import { ConfigError } from '@meshcart/mesh-config';
import { HttpError } from '@meshcart/service-kit';
import type { FastifyRequest } from 'fastify';
import type { AuditLog } from '../audit-log';
import { describe } from '../auth/caller';
import { UnknownVersionError, type ConfigStore } from '../config-store';
import { PeerCaMismatchError, type Replicas } from '../replicas';

/** Runs a config change; one that would make the config invalid is refused whole, naming every problem. */
export function guarded<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof ConfigError) {
      throw new HttpError(
        400,
        'INVALID_CONFIG',
        err.message,
        err.issues.map((i) => ({ path: i.path, message: i.message })),
      );
    }
    if (err instanceof UnknownVersionError) throw new HttpError(404, err.code, err.message);
    if (err instanceof PeerCaMismatchError) throw new HttpError(409, err.code, err.message);
    if (err instanceof Error && /profile "|ENOENT/.test(err.message)) throw new HttpError(404, 'UNKNOWN_PROFILE', err.message);
    throw err;
  }
}

/** Every config change made here goes to the other replicas, which push it to their proxies. */
export function sharedChange(replicas: Replicas, change: () => HistoryEntry): HistoryEntry {
  const entry = guarded(change);
  replicas.publish({ type: 'config', entry });
  return entry;
}

/**
 * A config change made by the request's caller: shared with the other replicas like any, and
 * written to the audit trail with who made it and the version before and after.
 */
export function auditedChange(
  ctx: { replicas: Replicas; store: ConfigStore; audit: AuditLog },
  req: FastifyRequest,
  action: string,
  change: (by: string) => HistoryEntry,
): HistoryEntry {
  const before = ctx.store.current().version;
  const by = describe(req.caller);
  const entry = sharedChange(ctx.replicas, () => change(by));
  ctx.audit.record({ by, action, before, after: entry.version });
  return entry;
}
