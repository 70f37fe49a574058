// The data plane's core shapes: a request, a response, a handler, and a layer that wraps a handler.
import type { Endpoint, RouteResource } from '@meshcart/mesh-config';
import type { Readable } from 'node:stream';
import type { Cluster } from '../tiers/concrete';
import type { Cancellation } from './cancellation';

export type Headers = Record<string, string | string[] | undefined>;
export type Direction = 'outbound' | 'inbound' | 'edge';

export interface RequestContext {
  direction: Direction;
  /** The calling service, for metrics and logs: proven by its certificate over mTLS, only claimed on plaintext. */
  srcService: string;
  /** The destination service (the virtual host / cluster). */
  dstService: string;
  /**
   * Inbound: the calling service as its mTLS certificate proves it; undefined on plaintext, whatever
   * the caller claims. Authorization decides on this alone.
   */
  principal?: string;
  route?: RouteResource;
  /** The route's destination cluster, found with the route; it holds the per-cluster state (retry budget, breaker, …). */
  cluster?: Cluster;
  endpoint?: Endpoint;
  /** Cancelled when the request's deadline passes or the client goes away. */
  cancellation?: Cancellation;
  /** 0 for the first try, n for the n-th retry. */
  attempt?: number;
  /** Instances earlier tries of this request went to: a retry picks another one when it can. */
  triedEndpoints?: string[];
  /** The instance subset (by labels) this request must go to, chosen by the route's split. */
  subset?: string;
  /** W3C trace id this request belongs to (for logs). */
  traceId?: string;
}

export interface MeshRequest {
  method: string;
  /** Path and query string, as sent upstream. */
  path: string;
  /** Lower-case names, hop-by-hop headers already removed. */
  headers: Headers;
  body: Readable | null;
  ctx: RequestContext;
}

export interface MeshResponse {
  statusCode: number;
  headers: Headers;
  body: Readable;
}

export type Handler = (req: MeshRequest) => Promise<MeshResponse>;
/**
 * A layer whose policy is off for a request hands it on with a plain `return inner(req)` from a
 * function that is not async: an async function returning a promise wraps it in another one and
 * costs extra microtask turns, which across a dozen layers was a visible share of each request.
 * Only the path that does work (awaits the answer) is async.
 */
export type Layer = (inner: Handler) => Handler;

/** Layers in the order pushed: the first one pushed sees the request first. */
export class Stack {
  private readonly layers: Layer[] = [];

  push(layer: Layer): this {
    this.layers.push(layer);
    return this;
  }

  build(terminal: Handler): Handler {
    return this.layers.reduceRight<Handler>((inner, layer) => layer(inner), terminal);
  }
}
