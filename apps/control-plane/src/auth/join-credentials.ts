// Per-service join credentials: what a workload outside Kubernetes presents to prove which service it is.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface JoinCredentialView {
  /** The first 12 hex characters of the credential's SHA-256: how it is named without being shown. */
  id: string;
  service: string;
  /** `environment`: given to this control plane at start (MESH_JOIN_CREDENTIALS); `created`: made by `meshctl join create`. */
  origin: 'environment' | 'created';
  createdAt: string;
  revokedAt?: string;
}

interface Stored extends JoinCredentialView {
  sha256: string;
}

export class JoinCredentialError extends Error {
  constructor(
    readonly code: 'JOIN_CREDENTIAL_UNKNOWN' | 'JOIN_CREDENTIAL_REVOKED',
    message: string,
  ) {
    super(message);
  }
}

const digest = (token: string) => createHash('sha256').update(token).digest('hex');

/**
 * Only hashes are kept. Credentials given at start live as long as the process (the launcher makes
 * new ones every run); created ones and every revocation are kept in `file`, so a revoked
 * credential stays revoked across restarts even if it is given again.
 */
export class JoinCredentials {
  private readonly byHash = new Map<string, Stored>();

  constructor(private readonly file?: string) {
    if (file && existsSync(file)) {
      for (const c of JSON.parse(readFileSync(file, 'utf8')) as Stored[]) this.byHash.set(c.sha256, c);
    }
  }

  /** Takes `service=token` pairs given at start; a revoked one stays revoked. */
  seed(credentials: Record<string, string>): void {
    for (const [service, token] of Object.entries(credentials)) {
      const sha256 = digest(token);
      if (!this.byHash.has(sha256))
        this.byHash.set(sha256, { sha256, id: sha256.slice(0, 12), service, origin: 'environment', createdAt: new Date().toISOString() });
    }
  }

  /**
   * Hands out credentials through a folder with one subfolder per service (Docker Compose mounts
   * each service's subfolder into that service's containers only): `<dir>/<service>/token` is made
   * when missing, and made anew when the one there was revoked. Returns the services provisioned.
   */
  provision(dir: string): string[] {
    const services = readdirSync(dir, { withFileTypes: true })
      .filter((d) => d.isDirectory() && /^[a-z][a-z0-9-]*$/.test(d.name))
      .map((d) => d.name);
    for (const service of services) {
      const file = join(dir, service, 'token');
      let token = existsSync(file) ? readFileSync(file, 'utf8').trim() : '';
      const stored = token ? this.byHash.get(digest(token)) : undefined;
      if (!token || stored?.revokedAt || (stored && stored.service !== service)) {
        token = `mcj_${randomBytes(24).toString('base64url')}`;
        writeFileSync(file, `${token}\n`, { mode: 0o600 });
      }
      this.seed({ [service]: token });
    }
    return services;
  }

  /** A new credential for `service`; the token is shown once, here, and kept only as a hash. */
  create(service: string): { token: string; credential: JoinCredentialView } {
    const token = `mcj_${randomBytes(24).toString('base64url')}`;
    const sha256 = digest(token);
    const stored: Stored = { sha256, id: sha256.slice(0, 12), service, origin: 'created', createdAt: new Date().toISOString() };
    this.byHash.set(sha256, stored);
    this.save();
    return { token, credential: view(stored) };
  }

  /** The service a token proves, or why it proves none. */
  verify(token: string): JoinCredentialView {
    const found = this.byHash.get(digest(token));
    if (!found)
      throw new JoinCredentialError(
        'JOIN_CREDENTIAL_UNKNOWN',
        'the bearer token is neither the operator credential nor a join credential this control plane knows',
      );
    if (found.revokedAt)
      throw new JoinCredentialError('JOIN_CREDENTIAL_REVOKED', `join credential ${found.id} (${found.service}) was revoked at ${found.revokedAt}`);
    return view(found);
  }

  /** Revokes by id (or a prefix of one naming exactly one), or every credential of a service. Returns what it revoked. */
  revoke(target: { id?: string; service?: string }): JoinCredentialView[] {
    const matches = [...this.byHash.values()].filter(
      (c) =>
        !c.revokedAt && ((target.id !== undefined && c.id.startsWith(target.id)) || (target.service !== undefined && c.service === target.service)),
    );
    if (target.id !== undefined && matches.length > 1) throw new Error(`"${target.id}" names ${matches.length} credentials; give more of the id`);
    const at = new Date().toISOString();
    for (const c of matches) c.revokedAt = at;
    if (matches.length) this.save();
    return matches.map(view);
  }

  isRevoked(id: string): boolean {
    return [...this.byHash.values()].some((c) => c.id === id && c.revokedAt !== undefined);
  }

  list(): JoinCredentialView[] {
    return [...this.byHash.values()].map(view).sort((a, b) => a.service.localeCompare(b.service) || a.createdAt.localeCompare(b.createdAt));
  }

  private save(): void {
    if (!this.file) return;
    // Environment credentials are given again at every start; only their revocations are kept.
    const kept = [...this.byHash.values()].filter((c) => c.origin === 'created' || c.revokedAt);
    mkdirSync(dirname(this.file), { recursive: true });
    writeFileSync(`${this.file}.tmp`, JSON.stringify(kept, null, 2), { mode: 0o600 });
    renameSync(`${this.file}.tmp`, this.file);
  }
}

const view = ({ sha256: _s, ...rest }: Stored): JoinCredentialView => rest;

/** `service=token,service=token` (MESH_JOIN_CREDENTIALS) as a map; throws naming the part it cannot read. */
export function parseJoinCredentials(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const eq = part.indexOf('=');
    const service = part.slice(0, eq);
    const token = part.slice(eq + 1);
    if (eq <= 0 || !/^[a-z][a-z0-9-]*$/.test(service) || token.length < 16)
      throw new Error(`"${part.slice(0, 40)}" is not service=token (a service name, then a token of 16 characters or more)`);
    out[service] = token;
  }
  return out;
}
