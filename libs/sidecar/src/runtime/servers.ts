// Listening and closing for the proxy's servers: a close lets requests in flight finish and ends idle connections at once.
import type { Server } from 'node:http';
import type { Http2Server } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { trackConnections, type ConnectionTracker } from '@meshcart/service-kit';

const trackers = new WeakMap<Server, ConnectionTracker>();

export function listen(server: Server | Http2Server, host: string, port: number): Promise<number> {
  if (!('closeIdleConnections' in server)) return listenRaw(server, host, port);
  trackers.set(server, trackConnections(server));
  return listenRaw(server, host, port);
}

function listenRaw(server: Server | Http2Server, host: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

/** Stops accepting, lets requests in flight finish, and closes every other connection at once. */
export function closeServer(server: Server): Promise<void> {
  const tracker = trackers.get(server);
  if (tracker) return tracker.close();
  return new Promise((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));
}
