// Access logs: one blocking write per request (baseline), sampled and buffered (optimized), or off.
import type { AccessLogMode } from '@meshcart/mesh-config';
import pino, { type Logger } from 'pino';
import type { RequestObserver, RequestRecord } from '../telemetry/telemetry-layer';

export class AccessLog implements RequestObserver {
  private mode: AccessLogMode = 'off';
  private sampleRate = 0;
  private readonly sync: Logger;
  private readonly buffered: Logger;

  constructor(base: { service: string; instance: string }, fd = 1) {
    const opts = { base: { ...base, log: 'access' }, timestamp: pino.stdTimeFunctions.isoTime };
    this.sync = pino(opts, pino.destination({ fd, sync: true }));
    // Buffered: writes leave in 4 KiB batches, off the request path.
    this.buffered = pino(opts, pino.destination({ fd, sync: false, minLength: 4096 }));
  }

  configure(settings: { mode: AccessLogMode; sampleRate: number }): void {
    this.mode = settings.mode;
    this.sampleRate = settings.sampleRate;
  }

  onRequestEnd(r: RequestRecord): void {
    if (this.mode === 'off') return;
    if (this.mode === 'sync') return this.sync.info(r);
    if (Math.random() < this.sampleRate) this.buffered.info(r);
  }

  /** Writes out what the buffered log holds; resolves once it is written. */
  flush(): Promise<void> {
    return new Promise((resolve) => this.buffered.flush(() => resolve()));
  }
}
