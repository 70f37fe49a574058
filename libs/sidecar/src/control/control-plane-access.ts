// How this workload reaches the control plane: over mTLS with its certificate once it has one, before that with its join credential.
import { controlPlaneAgent, controlPlaneIdFor, mtlsUrl } from '@meshcart/control-plane-api';
import { readFileSync } from 'node:fs';
import type { Agent, Dispatcher } from 'undici';
import type { Credentials } from './workload-identity';

/**
 * What proves this workload's service before it has a certificate: a join credential given to it
 * (MESH_JOIN_TOKEN), or a file read afresh for every use (MESH_JOIN_TOKEN_FILE: a Kubernetes projected
 * ServiceAccount token, which the kubelet rotates).
 */
export type JoinCredential = { token: string } | { file: string };

export interface ControlPlaneCall {
  /** The base URL to call: the control plane's mTLS port once this workload holds a certificate. */
  base: string;
  dispatcher?: Dispatcher;
  headers: Record<string, string>;
}

export class ControlPlaneAccess {
  /** Plain URL → the mTLS port its control plane announced. */
  private readonly tlsPorts = new Map<string, number>();
  private secure?: { version: number; agent: Agent };

  constructor(
    private readonly join: JoinCredential | undefined,
    private readonly credentials: () => Credentials | undefined,
  ) {}

  /** The control plane at `url` said (in a lease) where its mTLS port is. */
  learnTlsPort(url: string, port: number | undefined): void {
    if (port) this.tlsPorts.set(url, port);
  }

  forgetTlsPort(url: string): void {
    this.tlsPorts.delete(url);
  }

  /** How to call the control plane at `url` now. */
  call(url: string): ControlPlaneCall {
    const creds = this.credentials();
    const port = this.tlsPorts.get(url);
    if (creds && port) return { base: mtlsUrl(url, port), dispatcher: this.agent(creds), headers: {} };
    const token = this.joinToken();
    return { base: url, headers: token ? { authorization: `Bearer ${token}` } : {} };
  }

  /** The join credential's token, read now (a file may have been rotated since the last call). */
  joinToken(): string | undefined {
    if (!this.join) return undefined;
    if ('token' in this.join) return this.join.token;
    try {
      return readFileSync(this.join.file, 'utf8').trim();
    } catch (err) {
      throw new Error(`cannot read the join credential file ${this.join.file}: ${(err as Error).message}`);
    }
  }

  /** Calls with the certificate of this version; a renewed certificate gets a new dispatcher (live streams keep theirs). */
  private agent(c: Credentials): Agent {
    if (this.secure?.version !== c.version) {
      const previous = this.secure?.agent;
      this.secure = { version: c.version, agent: controlPlaneAgent({ key: c.keyPem, cert: c.certPem, ca: c.caPem }, controlPlaneIdFor(c.spiffeId)) };
      // Closes once the requests on it (a push stream) are done.
      void previous?.close();
    }
    return this.secure.agent;
  }

  async close(): Promise<void> {
    await this.secure?.agent.destroy();
  }
}
