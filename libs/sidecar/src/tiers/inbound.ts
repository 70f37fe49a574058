// Inbound tier: traffic arriving for the local app, forwarded over a pooled keep-alive connection.
import { Pool } from 'undici';
import { telemetryLayer, type RequestObserver } from '../layers/telemetry-layer';
import { timeoutLayer } from '../layers/timeout-layer';
import { Stack, type Handler } from '../types';
import { forward } from './endpoint';

export class Inbound {
  private readonly app: Pool;
  readonly handler: Handler;

  constructor(appUrl: string, observers: () => readonly RequestObserver[]) {
    // The app is on loopback: many keep-alive connections, no connect-time budget to speak of.
    this.app = new Pool(appUrl, { connections: 128, keepAliveTimeout: 60_000, headersTimeout: 0, bodyTimeout: 0 });
    this.handler = new Stack()
      // Measures what the app costs, as seen at the sidecar (the inbound side of every edge).
      .push(telemetryLayer(observers))
      // The caller's remaining deadline bounds the app's work too, and the app learns it (header).
      .push(timeoutLayer())
      .build(forward(() => this.app, () => appUrl));
  }

  close(): Promise<void> {
    return this.app.close();
  }
}
