// The sidecar's outbound listener: the local app's calls to other services, over the plain HTTP proxy protocol.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { BadRequestError } from '../core/errors';
import type { Handler } from '../core/types';
import { arrivalOf, respond, sendError } from './http-bridge';
import { destinationOf, meshRequest, outgoingHeaders } from './request';

/** `plane.outbound` is the data plane's outbound stack; `service` is the local app's, the caller of every request here. */
export function outboundListener(service: string, plane: { outbound: Handler }): Server {
  return createServer((req: IncomingMessage, res: ServerResponse) => {
    const dest = destinationOf(req);
    if (!dest) return sendError(res, new BadRequestError('cannot tell the destination: send an absolute URI or a Host header'));
    const arrival = arrivalOf(req, res, dest.path, outgoingHeaders(req.headers, dest.service, service));
    respond(plane.outbound, meshRequest('outbound', service, dest.service, arrival), res);
  }).on('connect', (_req, socket) => {
    // CONNECT tunnels (https:// through HTTP_PROXY) would hide the request from every policy.
    socket.end('HTTP/1.1 501 Not Implemented\r\ncontent-length: 0\r\n\r\n');
  });
}
