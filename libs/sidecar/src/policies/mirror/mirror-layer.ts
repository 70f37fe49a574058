// Request mirroring: a copy of a share of requests goes to a shadow target; its answer is discarded.
import type { RouteResource } from '@meshcart/mesh-config';
import { Readable } from 'node:stream';
import { onBodyDone } from '../../core/body-done';
import { BoundedCancellation } from '../../core/cancellation';
import type { Handler, Layer, MeshRequest, MeshResponse } from '../../core/types';
import type { ClusterLookup } from '../routing/route-layer';

/** Only small bodies are copied: mirroring must not hold large uploads in memory. */
const MAX_MIRROR_BODY_BYTES = 64 * 1024;

type Mirror = NonNullable<RouteResource['mirror']>;

async function withMirror(inner: Handler, send: Handler, clusters: ClusterLookup, req: MeshRequest, mirror: Mirror): Promise<MeshResponse> {
  let body: Buffer | null = null;
  if (req.body) {
    const chunks: Buffer[] = [];
    for await (const chunk of req.body) chunks.push(chunk as Buffer);
    body = Buffer.concat(chunks);
    req.body = Readable.from([body]);
  }
  if (!body || body.length <= MAX_MIRROR_BODY_BYTES) {
    // Its own deadline: a slow shadow must not hold connections past the route timeout.
    const deadline = new BoundedCancellation(
      undefined,
      req.ctx.route!.timeoutMs,
      () => new DOMException('The operation was aborted due to timeout', 'TimeoutError'),
    );
    const shadow = {
      ...req,
      // Envoy's convention: the shadow's authority ends in -shadow, so the target can tell.
      headers: { ...req.headers, host: `${mirror.cluster}-shadow`, 'x-meshcart-shadow': 'true' },
      body: body ? Readable.from([body]) : null,
      ctx: {
        ...req.ctx,
        dstService: mirror.cluster,
        route: { ...req.ctx.route!, cluster: mirror.cluster, mirror: undefined },
        cluster: clusters(mirror.cluster),
        subset: mirror.subset,
        cancellation: deadline,
      },
    };
    // Fire and forget: the shadow never delays or fails the real request.
    send(shadow).then((res) => onBodyDone(res, deadline.release).body.resume(), deadline.release);
  }
  return inner(req);
}

/** `send` takes the shadow to its cluster (the logical tier's end), past this route's retries and faults. */
export function mirrorLayer(send: Handler, clusters: ClusterLookup, random: () => number = Math.random): Layer {
  return (inner) => (req) => {
    // A plain call when this request is not mirrored: see "a layer whose policy is off" in types.ts.
    const mirror = req.ctx.route?.mirror;
    if (!mirror || random() * 100 >= mirror.percent) return inner(req);
    return withMirror(inner, send, clusters, req, mirror);
  };
}
