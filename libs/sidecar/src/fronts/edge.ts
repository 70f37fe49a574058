// The edge front: public requests at the gateway, routed by path through the data plane's edge stack.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Handler } from '../core/types';
import { arrivalOf, respond } from './http-bridge';
import { forwardableHeaders, meshRequest, SOURCE_HEADER } from './request';

/** The gateway is the caller of every public request; the edge route picks the destination. */
const EDGE_SOURCE = 'gateway';

/** Serves one public request; `extraHeaders` are the front's own (the gateway's request id), passed on upstream. */
export function serveEdge(edge: Handler, req: IncomingMessage, res: ServerResponse, extraHeaders: Record<string, string> = {}): void {
  const headers = forwardableHeaders(req.headers);
  headers[SOURCE_HEADER] = EDGE_SOURCE;
  for (const name in extraHeaders) headers[name] = extraHeaders[name];
  respond(edge, meshRequest('edge', EDGE_SOURCE, '', arrivalOf(req, res, req.url ?? '/', headers)), res);
}
