// W3C Trace Context on every hop: continue the caller's trace (or start one) with a new span for this hop.
import { TRACEPARENT_HEADER, traceIdOf } from '@meshcart/service-kit';
import { randomBytes } from 'node:crypto';
import type { Layer } from '../types';

export function traceLayer(): Layer {
  return (inner) => (req) => {
    const incoming = req.headers[TRACEPARENT_HEADER];
    const traceId = traceIdOf(incoming) ?? randomBytes(16).toString('hex');
    const flags = typeof incoming === 'string' && traceIdOf(incoming) ? incoming.slice(-2) : '01';
    req.headers[TRACEPARENT_HEADER] = `00-${traceId}-${randomBytes(8).toString('hex')}-${flags}`;
    req.ctx.traceId = traceId;
    return inner(req);
  };
}
