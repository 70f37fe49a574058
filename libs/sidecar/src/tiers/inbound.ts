// Inbound tier: traffic arriving for the local app, admitted (authorization, rate limit) and forwarded over a pooled keep-alive connection.
import type { AuthorizationSettings } from '@meshcart/mesh-config';
import { Pool } from 'undici';
import type { MeshEvents } from '../core/mesh-events';
import { Stack, type Handler } from '../core/types';
import { authorizationLayer } from '../policies/authorization/authorization-layer';
import { deadlineLayer } from '../policies/deadline/deadline-layer';
import { rateLimitLayer } from '../policies/rate-limit/rate-limit-layer';
import { readyLayer } from '../policies/readiness/ready-layer';
import { RateLimits } from '../policies/rate-limit/token-bucket';
import type { RouteTable } from '../policies/routing/route-table';
import { telemetryLayer, type RequestObserver } from '../policies/telemetry/telemetry-layer';
import { traceLayer } from '../policies/tracing/trace-layer';
import { forward } from './endpoint';

/** What the inbound side needs of the proxy it runs in. */
export interface LocalService {
  service: string;
  /** The config in force: the local service's routes (for rate limits) and who may call it. */
  routes: () => RouteTable;
  authorization: () => AuthorizationSettings;
  /** A config is in force: until then nothing says who may call, so nothing is let in. */
  configured: () => boolean;
  events: MeshEvents;
}

/** Before its first config the inbound side fails closed: no config says who may call, or whether plaintext may. */
const notConfigured = (local: LocalService) => () =>
  local.configured() ? undefined : 'this proxy has no config yet, so nothing says who may call this service; it lets nothing in until it has one';

export class Inbound {
  private readonly app: Pool;
  /** Per-route state: the routes' token buckets, kept across config pushes (see policy-state.ts). */
  private readonly rateLimits = new RateLimits();
  readonly handler: Handler;

  constructor(appUrl: string, observers: () => readonly RequestObserver[], local: LocalService) {
    // The app is on loopback: many keep-alive connections, no connect-time budget to speak of.
    this.app = new Pool(appUrl, { connections: 128, keepAliveTimeout: 60_000, headersTimeout: 0, bodyTimeout: 0 });
    this.handler = new Stack()
      // The inbound hop is a span of its own in the caller's trace.
      .push(traceLayer())
      // Measures what the app costs, as seen at the sidecar (the inbound side of every edge).
      .push(telemetryLayer(observers))
      // Without a config there is no policy to admit anyone by: refuse (measured) before anything else.
      .push(readyLayer(notConfigured(local)))
      // Who may call: decided by the destination, on the caller's proven identity, before any other work.
      .push(authorizationLayer(local.authorization, local.events))
      // Rate limits protect the app, so they are enforced here, by the destination, for all callers together.
      .push(rateLimitLayer(local.service, local.routes, this.rateLimits))
      // The caller's remaining deadline bounds the app's work too, and the app learns it (header).
      .push(deadlineLayer())
      .build(
        forward(
          () => this.app,
          () => ({ url: appUrl, h2c: false }),
        ),
      );
  }

  close(): Promise<void> {
    return this.app.close();
  }
}

const ADMITTED: Handler = () => Promise.resolve(undefined as never);

/**
 * A proxyless app's inbound admission: the same checks as a sidecar's inbound tier, in the same
 * order, run by the app's own server before its handler. It resolves when the request may go on and
 * rejects with the mesh error that refuses it. (Deadlines are honoured by the service kit's request
 * context; telemetry is recorded when the app has answered.)
 */
export function buildProxylessAdmission(local: LocalService): Handler {
  return (
    new Stack()
      // No config, no policy: nothing is let in (the sidecar's inbound order from here on).
      .push(readyLayer(notConfigured(local)))
      // Who may call, before any other work.
      .push(authorizationLayer(local.authorization, local.events))
      // Then the app's protection from overload, for all callers together.
      .push(rateLimitLayer(local.service, local.routes, new RateLimits()))
      .build(ADMITTED)
  );
}
