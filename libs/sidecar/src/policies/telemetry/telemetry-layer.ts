// Times each request from arrival to the last response byte and tells the observers (metrics, logs).
import { onBodyDone } from '../../core/body-done';
import { MeshError } from '../../core/errors';
import type { Direction, Layer, MeshRequest } from '../../core/types';

export interface RequestRecord {
  direction: Direction;
  srcService: string;
  dstService: string;
  route: string;
  method: string;
  path: string;
  statusCode: number;
  durationSeconds: number;
  endpoint?: string;
  errorCode?: string;
  traceId?: string;
}

export interface RequestObserver {
  onRequestEnd(record: RequestRecord): void;
}

function record(req: MeshRequest, start: number, statusCode: number, errorCode?: string): RequestRecord {
  const r: RequestRecord = {
    direction: req.ctx.direction,
    srcService: req.ctx.srcService,
    dstService: req.ctx.dstService,
    route: req.ctx.route?.name ?? '',
    method: req.method,
    path: req.path,
    statusCode,
    durationSeconds: (performance.now() - start) / 1000,
  };
  // Assigned, not spread in: a spread of a fresh object per optional field was garbage per request.
  if (req.ctx.endpoint) r.endpoint = req.ctx.endpoint.instance;
  if (errorCode) r.errorCode = errorCode;
  if (req.ctx.traceId) r.traceId = req.ctx.traceId;
  return r;
}

function notify(observers: readonly RequestObserver[], r: RequestRecord): void {
  for (const o of observers) o.onRequestEnd(r);
}

export function telemetryLayer(observers: () => readonly RequestObserver[]): Layer {
  return (inner) => async (req) => {
    // performance.now(), not process.hrtime.bigint(): the same monotonic clock without a BigInt to
    // allocate and subtract per request.
    const start = performance.now();
    try {
      const res = await inner(req);
      return onBodyDone(res, () => notify(observers(), record(req, start, res.statusCode)));
    } catch (err) {
      const statusCode = err instanceof MeshError ? err.statusCode : 500;
      notify(observers(), record(req, start, statusCode, err instanceof MeshError ? err.code : 'MESH_ERR_INTERNAL'));
      throw err;
    }
  };
}
