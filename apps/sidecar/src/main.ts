// Runs one sidecar beside one app instance: settings from the environment, graceful stop on SIGTERM.
import { notifyReady, onShutdown, portInUseMessage } from '@meshcart/service-kit';
import { Sidecar } from '@meshcart/sidecar';
import pino from 'pino';
import { readSidecarEnv } from './sidecar-env';

let options;
try {
  options = readSidecarEnv();
} catch (err) {
  console.error(`sidecar: ${(err as Error).message}`);
  process.exit(1);
}
const logger = pino({
  level: process.env['LOG_LEVEL'] ?? 'info',
  base: { service: options.service, instance: options.instance, component: 'sidecar' },
});
const sidecar = new Sidecar({ ...options, logger });
try {
  const ports = await sidecar.start();
  logger.info({ ports, app: options.appUrl }, 'sidecar listening');
  onShutdown(() => sidecar.stop(), { info: (m) => logger.info(m), error: (m) => logger.error(m) });
  notifyReady({ name: options.instance, ports: { ...ports } });
} catch (err) {
  const e = err as NodeJS.ErrnoException & { port?: number; address?: string };
  if (e.code === 'EADDRINUSE') {
    const variable =
      e.port === options.inboundPort
        ? 'INBOUND_PORT'
        : e.port === options.inboundH2cPort
          ? 'INBOUND_H2C_PORT'
          : e.port === options.outboundPort
            ? 'OUTBOUND_PORT'
            : 'ADMIN_PORT';
    logger.fatal(portInUseMessage(e.port ?? 0, e.address ?? '', variable));
  } else {
    logger.fatal({ err }, 'sidecar failed to start');
  }
  process.exit(1);
}
