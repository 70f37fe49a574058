// Times each request from arrival to the last response byte and tells the observers (metrics, logs).
import { onBodyDone } from '../body-done';
import { MeshError } from '../errors';
import type { Direction, Layer, MeshRequest } from '../types';

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

function record(req: MeshRequest, start: bigint, statusCode: number, errorCode?: string): RequestRecord {
  return {
    direction: req.ctx.direction,
    srcService: req.ctx.srcService,
    dstService: req.ctx.dstService,
    route: req.ctx.route?.name ?? '',
    method: req.method,
    path: req.path,
    statusCode,
    durationSeconds: Number(process.hrtime.bigint() - start) / 1e9,
    ...(req.ctx.endpoint ? { endpoint: req.ctx.endpoint.instance } : {}),
    ...(errorCode ? { errorCode } : {}),
    ...(req.ctx.traceId ? { traceId: req.ctx.traceId } : {}),
  };
}

export function telemetryLayer(observers: () => readonly RequestObserver[]): Layer {
  return (inner) => async (req) => {
    const start = process.hrtime.bigint();
    const notify = (r: RequestRecord) => {
      for (const o of observers()) o.onRequestEnd(r);
    };
    try {
      const res = await inner(req);
      return onBodyDone(res, () => notify(record(req, start, res.statusCode)));
    } catch (err) {
      const statusCode = err instanceof MeshError ? err.statusCode : 500;
      notify(record(req, start, statusCode, err instanceof MeshError ? err.code : 'MESH_ERR_INTERNAL'));
      throw err;
    }
  };
}
