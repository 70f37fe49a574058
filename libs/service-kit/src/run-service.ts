// Listens, tells a supervising parent where, and shuts down gracefully on SIGTERM/SIGINT.
import type { FastifyInstance } from 'fastify';
import type { AddressInfo } from 'node:net';

/** What a process tells the parent that spawned it (over the IPC channel, if there is one). */
export interface ReadyMessage {
  type: 'ready';
  name: string;
  ports: Record<string, number>;
}

export function notifyReady(message: Omit<ReadyMessage, 'type'>): void {
  process.send?.({ type: 'ready', ...message } satisfies ReadyMessage);
}

/** Installs one shutdown path for SIGTERM and SIGINT; a second signal or the timeout forces exit. */
export function onShutdown(close: () => Promise<void>, log: Pick<Console, 'info' | 'error'>, timeoutMs = 10_000): void {
  let closing = false;
  const handler = (signal: NodeJS.Signals) => {
    if (closing) process.exit(1);
    closing = true;
    log.info(`received ${signal}, finishing in-flight requests`);
    setTimeout(() => {
      log.error(`shutdown took longer than ${timeoutMs} ms, exiting`);
      process.exit(1);
    }, timeoutMs).unref();
    close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error(`shutdown failed: ${String(err)}`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', handler);
  process.once('SIGINT', handler);
  // Spawned by a supervisor (npm start, tests): if it dies, do not live on as an orphan.
  if (process.connected) process.once('disconnect', () => closing || handler('SIGTERM'));
}

export function portInUseMessage(port: number, host: string, variable: string): string {
  return `port ${port} on ${host} is already in use; stop what uses it or set ${variable} to another port`;
}

/** Starts the app on host:port; exits with a clear message when the port is taken. */
export async function runService(
  app: FastifyInstance,
  opts: {
    name: string;
    host: string;
    port: number;
    portVariable?: string;
    shutdownTimeoutMs?: number;
    /** Other ports this process listens on (e.g. a mesh admin port), reported with the http one. */
    extraPorts?: Record<string, number>;
    /** Runs once the server listens, before the parent is told; may report more ports. */
    onListening?: (port: number) => Promise<Record<string, number> | void>;
    /** Runs after the server has closed: release what the app does not own. */
    afterClose?: () => Promise<void>;
  },
): Promise<number> {
  try {
    await app.listen({ host: opts.host, port: opts.port });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') {
      app.log.fatal(portInUseMessage(opts.port, opts.host, opts.portVariable ?? 'PORT'));
    } else {
      app.log.fatal({ err }, 'failed to start');
    }
    process.exit(1);
  }
  const port = (app.server.address() as AddressInfo).port;
  const more = (await opts.onListening?.(port)) ?? {};
  onShutdown(
    async () => {
      await app.close();
      await opts.afterClose?.();
    },
    { info: (m) => app.log.info(m), error: (m) => app.log.error(m) },
    opts.shutdownTimeoutMs,
  );
  notifyReady({ name: opts.name, ports: { http: port, ...opts.extraPorts, ...more } });
  return port;
}
