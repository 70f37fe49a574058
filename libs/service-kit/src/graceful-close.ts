// Graceful close for node:http servers: requests in flight finish; every other connection closes now.
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

const inFlight = Symbol('meshcart.inFlight');
type TrackedSocket = Socket & { [inFlight]?: number };

export interface ConnectionTracker {
  /** From now on: close sockets with no request in flight, and each busy one when its request ends. */
  drain(): void;
  /** drain(), then server.close(); resolves when the last connection is gone. */
  close(): Promise<void>;
}

/**
 * Node's closeIdleConnections() only sees sockets that have finished a request, and only when it
 * is called: a client's spare keep-alive socket that never carried a request, or one that turns
 * idle after closing began, holds close() open until the client drops it (seconds). Counting
 * requests per socket lets a closing server drop each socket the moment it has nothing to finish.
 */
export function trackConnections(server: Server): ConnectionTracker {
  const sockets = new Set<TrackedSocket>();
  let draining = false;
  server.on('connection', (socket: TrackedSocket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('request', (req, res) => {
    const socket = req.socket as TrackedSocket;
    socket[inFlight] = (socket[inFlight] ?? 0) + 1;
    if (draining && !res.headersSent) res.setHeader('connection', 'close');
    res.once('close', () => {
      socket[inFlight] = (socket[inFlight] ?? 1) - 1;
      if (draining && socket[inFlight] === 0) socket.destroySoon();
    });
  });
  const drain = () => {
    draining = true;
    for (const socket of sockets) if (!socket[inFlight]) socket.destroySoon();
  };
  return {
    drain,
    close: () =>
      new Promise<void>((resolve) => {
        drain();
        if (!server.listening) return resolve();
        server.close(() => resolve());
      }),
  };
}
