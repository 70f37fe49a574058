// Fault injection for drills: delay and/or abort a share of requests, optionally only those with given headers.
import type { RouteResource } from '@meshcart/mesh-config';
import { Readable } from 'node:stream';
import { pause } from '../../core/cancellation';
import type { Handler, Layer, MeshRequest, MeshResponse } from '../../core/types';

async function withFault(inner: Handler, req: MeshRequest, fault: NonNullable<RouteResource['fault']>, random: () => number): Promise<MeshResponse> {
  if (fault.headers && !Object.entries(fault.headers).every(([k, v]) => req.headers[k] === v)) return inner(req);
  if (fault.delay && random() * 100 < fault.delay.percent) {
    await pause(fault.delay.fixedDelayMs, req.ctx.cancellation);
  }
  if (fault.abort && random() * 100 < fault.abort.percent) {
    req.body?.resume();
    const body = JSON.stringify({ error: { code: 'MESH_ERR_FAULT_INJECTED', message: `fault injected on route ${req.ctx.route!.name}` } });
    return {
      statusCode: fault.abort.httpStatus,
      headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)), 'x-meshcart-fault': 'abort' },
      body: Readable.from([Buffer.from(body)]),
    };
  }
  return inner(req);
}

export function faultLayer(random: () => number = Math.random): Layer {
  return (inner) => (req) => {
    // A plain call when the route has no fault: see "a layer whose policy is off" in types.ts.
    const fault = req.ctx.route?.fault;
    return fault ? withFault(inner, req, fault, random) : inner(req);
  };
}
