// Inbound tier: traffic arriving for the local app, forwarded over a pooled keep-alive connection.
import { Pool } from 'undici';
import { telemetryLayer, type RequestObserver } from '../layers/telemetry-layer';
import { authzLayer } from '../layers/authz-layer';
import { rateLimitLayer } from '../layers/rate-limit-layer';
import type { DataPlane } from '../data-plane';
import { timeoutLayer } from '../layers/timeout-layer';
import { traceLayer } from '../layers/trace-layer';
import type { RouteTable } from '../route-table';
import { Stack, type Handler } from '../types';
import { forward } from './endpoint';

export class Inbound {
  private readonly app: Pool;
  readonly handler: Handler;

  constructor(appUrl: string, observers: () => readonly RequestObserver[], local: { service: string; routes: () => RouteTable; dataPlane: DataPlane }) {
    // The app is on loopback: many keep-alive connections, no connect-time budget to speak of.
    this.app = new Pool(appUrl, { connections: 128, keepAliveTimeout: 60_000, headersTimeout: 0, bodyTimeout: 0 });
    this.handler = new Stack()
      // The inbound hop is a span of its own in the caller's trace.
      .push(traceLayer())
      // Measures what the app costs, as seen at the sidecar (the inbound side of every edge).
      .push(telemetryLayer(observers))
      // Who may call: decided by the destination, on the caller's proven identity, before any other work.
      .push(authzLayer(() => local.dataPlane.authorization(), local.dataPlane.events))
      // Rate limits protect the app, so they are enforced here, by the destination, for all callers together.
      .push(rateLimitLayer(local.service, local.routes))
      // The caller's remaining deadline bounds the app's work too, and the app learns it (header).
      .push(timeoutLayer())
      .build(forward(() => this.app, () => ({ url: appUrl, h2c: false })));
  }

  close(): Promise<void> {
    return this.app.close();
  }
}
