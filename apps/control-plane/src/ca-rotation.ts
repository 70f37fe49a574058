// Rotating the CA's root without downtime, in three steps, each pushed to every proxy and waited for:
// trust the new root beside the old, sign with the new one, trust the old one no more.
import type { CaStatus } from '@meshcart/control-plane-api';
import { RotationError, type CertificateAuthority } from './certificate-authority';
import type { ConfigStore } from './config-store';
import type { Registry } from './registry';

export interface CaRotationOptions {
  ca: () => CertificateAuthority;
  registry: Registry;
  store: ConfigStore;
  /** Re-issues the control plane's own certificate and trust bundle (its mTLS port, its calls to replicas). */
  refreshOwnIdentity: () => Promise<void>;
  /** Whether other replicas share this mesh: then the root is rotated through the CA they share, not here. */
  hasPeers: () => boolean;
  /** How long a step waits for every proxy to renew before the rotation stops where it is (safe to run again). */
  stepTimeoutMs?: number;
  log: { info: (obj: object, msg: string) => void; warn: (obj: object, msg: string) => void };
}

const STEPS = {
  stage: 'step 1/3: every proxy trusts the new root beside the old one',
  activate: 'step 2/3: the new root signs; every proxy renews its certificate',
  retire: 'step 3/3: the old root is trusted no more',
} as const;

export class CaRotation {
  private running = false;
  private step?: string;
  private startedAt?: string;
  private finishedAt?: string;
  private error?: string;

  constructor(private readonly opts: CaRotationOptions) {}

  /** The CA's roots into every proxy's resources: what the proxies renew against. */
  publishEpoch(): void {
    this.opts.store.setTrustEpoch(this.opts.ca().trustEpoch);
  }

  status(): CaStatus {
    const ca = this.opts.ca();
    return {
      phase: ca.phase,
      trustEpoch: ca.trustEpoch,
      roots: ca.roots(),
      rotation: {
        running: this.running,
        ...(this.step ? { step: this.step } : {}),
        waitingFor: this.behind(),
        ...(this.startedAt ? { startedAt: this.startedAt } : {}),
        ...(this.finishedAt ? { finishedAt: this.finishedAt } : {}),
        ...(this.error ? { error: this.error } : {}),
      },
    };
  }

  /**
   * Starts a rotation (or finishes one a restart or a timeout left half-way) and returns at once;
   * status() follows it. Throws RotationError when one is running or replicas share the root.
   */
  start(): void {
    if (this.running) throw new RotationError('a rotation is already running: see GET /api/v1/ca/status (meshctl ca status)');
    if (this.opts.hasPeers())
      throw new RotationError(
        'other control-plane replicas share this root: rotate it in the CA they share (the meshcart-ca Secret), as docs/security.md says, not through one replica',
      );
    this.running = true;
    this.startedAt = new Date().toISOString();
    this.finishedAt = this.error = undefined;
    void this.run()
      .catch((err: Error) => {
        this.error = err.message;
        this.opts.log.warn({ err: err.message, phase: this.opts.ca().phase }, 'CA rotation stopped; run it again to finish');
      })
      .finally(() => {
        this.running = false;
        this.finishedAt = new Date().toISOString();
      });
  }

  private async run(): Promise<void> {
    const ca = this.opts.ca();
    if (ca.phase === 'steady') await this.advance(STEPS.stage, () => ca.stage());
    if (ca.phase === 'staged') await this.advance(STEPS.activate, () => ca.activate());
    if (ca.phase === 'overlap') await this.advance(STEPS.retire, () => ca.retire());
    this.step = 'done: one root, every proxy renewed for it';
    this.opts.log.info({ root: ca.rootFingerprint.slice(0, 16) }, 'CA root rotated');
  }

  /** One step: change the roots, tell every proxy, and wait until each has renewed for them. */
  private async advance(step: string, change: () => void | Promise<void>): Promise<void> {
    this.step = step;
    this.opts.log.info({ step }, 'CA rotation');
    await change();
    await this.opts.refreshOwnIdentity();
    this.publishEpoch();
    const deadline = Date.now() + (this.opts.stepTimeoutMs ?? 120_000);
    while (this.behind().length > 0) {
      if (Date.now() > deadline) throw new RotationError(`${step}: still waiting for ${this.behind().join(', ')} to renew`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Registered proxies holding a certificate that is not yet for the current roots. */
  private behind(): string[] {
    const epoch = this.opts.ca().trustEpoch;
    return this.opts.registry
      .list()
      .filter((p) => p.certNotAfter && p.trustEpoch !== epoch)
      .map((p) => p.instance);
  }
}
