// Graceful degradation: a route's default answer when its upstream failed or its breaker is open.
import { Readable } from 'node:stream';
import { MeshError, NoRouteError } from '../errors';
import type { Layer, MeshResponse } from '../types';

export function fallbackLayer(): Layer {
  return (inner) => async (req) => {
    const fallback = req.ctx.route?.fallback;
    if (!fallback) return inner(req);
    const degrade = (reason: string): MeshResponse => {
      const body = JSON.stringify(fallback.body ?? null);
      return {
        statusCode: fallback.status ?? 200,
        headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'x-meshcart-fallback': reason },
        body: Readable.from([Buffer.from(body)]),
      };
    };
    try {
      const res = await inner(req);
      if (res.statusCode < 500) return res;
      res.body.resume();
      return degrade(`upstream-${res.statusCode}`);
    } catch (err) {
      if (!(err instanceof MeshError) || err instanceof NoRouteError) throw err;
      return degrade(err.code);
    }
  };
}
