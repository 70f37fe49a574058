// The simulated card processor: the only simulated part of MeshCart, with configurable latency and decline rate.
import { setTimeout as sleep } from 'node:timers/promises';

export interface ProcessorOptions {
  /** How long each processor call takes. */
  latencyMs: number;
  /** Share of charges declined, 0..1. */
  declineRate: number;
  /** Source of randomness in [0, 1); tests pass a fixed one. */
  random?: () => number;
}

export type ProcessorVerdict = { approved: true } | { approved: false; reason: 'card_declined' };

export class SimulatedProcessor {
  private readonly random: () => number;

  constructor(private readonly options: ProcessorOptions) {
    if (!Number.isFinite(options.latencyMs) || options.latencyMs < 0)
      throw new RangeError(`processor latencyMs must be >= 0, got ${options.latencyMs}`);
    if (!(options.declineRate >= 0 && options.declineRate <= 1))
      throw new RangeError(`processor declineRate must be within 0..1, got ${options.declineRate}`);
    this.random = options.random ?? Math.random;
  }

  async charge(): Promise<ProcessorVerdict> {
    await this.wait();
    return this.random() < this.options.declineRate ? { approved: false, reason: 'card_declined' } : { approved: true };
  }

  /** Refunds of succeeded charges always go through; they only cost the round trip. */
  async refund(): Promise<void> {
    await this.wait();
  }

  /** No delay means none: a 0 ms timer would still cost a pass of the event loop's timers (~1 ms). */
  private async wait(): Promise<void> {
    if (this.options.latencyMs > 0) await sleep(this.options.latencyMs);
  }
}
