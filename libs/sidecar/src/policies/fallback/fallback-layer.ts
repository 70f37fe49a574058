// Graceful degradation: a route's default answer when its upstream failed or its breaker is open.
import type { RouteResource } from '@meshcart/mesh-config';
import { Readable } from 'node:stream';
import { MeshError, NoRouteError } from '../../core/errors';
import type { Handler, Layer, MeshRequest, MeshResponse } from '../../core/types';

type Fallback = NonNullable<RouteResource['fallback']>;

function degrade(fallback: Fallback, reason: string): MeshResponse {
  const body = JSON.stringify(fallback.body ?? null);
  return {
    statusCode: fallback.status ?? 200,
    headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'x-meshcart-fallback': reason },
    body: Readable.from([Buffer.from(body)]),
  };
}

async function withFallback(inner: Handler, req: MeshRequest, fallback: Fallback): Promise<MeshResponse> {
  try {
    const res = await inner(req);
    if (res.statusCode < 500) return res;
    res.body.resume();
    return degrade(fallback, `upstream-${res.statusCode}`);
  } catch (err) {
    if (!(err instanceof MeshError) || err instanceof NoRouteError) throw err;
    return degrade(fallback, err.code);
  }
}

export function fallbackLayer(): Layer {
  return (inner) => (req) => {
    const fallback = req.ctx.route?.fallback;
    // A plain call when the route has no fallback: see "a layer whose policy is off" in types.ts.
    return fallback ? withFallback(inner, req, fallback) : inner(req);
  };
}
