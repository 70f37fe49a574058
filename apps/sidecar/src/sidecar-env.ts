// The sidecar's settings from the environment, each error naming its variable.
import { EnvError, parseLabels, readJoinCredential, readNumber, readPort } from '@meshcart/service-kit';
import type { SidecarOptions } from '@meshcart/sidecar';

function required(env: NodeJS.ProcessEnv, name: string): string {
  const v = env[name];
  if (!v) throw new EnvError(name, '', 'a value (it is required)');
  return v;
}

export function readSidecarEnv(env: NodeJS.ProcessEnv = process.env): SidecarOptions {
  const service = required(env, 'MESH_SERVICE');
  const appPort = readPort(env, 'APP_PORT', 0);
  const appUrl = env['APP_URL'] ?? (appPort ? `http://127.0.0.1:${appPort}` : undefined);
  if (!appUrl) throw new EnvError('APP_URL', '', 'the local app address, e.g. http://127.0.0.1:3004 (or set APP_PORT)');
  return {
    service,
    instance: env['MESH_INSTANCE'] ?? `${service}-${process.pid}`,
    appUrl,
    controlPlaneUrls: (env['MESH_CONTROL_PLANE_URLS'] ?? 'http://127.0.0.1:15010')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
    host: env['HOST'] ?? '127.0.0.1',
    inboundHost: env['INBOUND_HOST'] ?? env['HOST'] ?? '127.0.0.1',
    ...(env['ADMIN_HOST'] ? { adminHost: env['ADMIN_HOST'] } : {}),
    ...(env['ADVERTISE_HOST'] ? { advertiseHost: env['ADVERTISE_HOST'] } : {}),
    inboundPort: readPort(env, 'INBOUND_PORT', 15006),
    inboundH2cPort: readPort(env, 'INBOUND_H2C_PORT', 15008),
    outboundPort: readPort(env, 'OUTBOUND_PORT', 15001),
    adminPort: readPort(env, 'ADMIN_PORT', 15000),
    labels: parseLabels(env['MESH_LABELS'] ?? ''),
    heartbeatIntervalMs: readNumber(env, 'MESH_HEARTBEAT_MS', 3_000, 100, 60_000),
    ...(readJoinCredential(env) ? { join: readJoinCredential(env) } : {}),
    ...(env['MESH_BOOTSTRAP_FILE'] ? { bootstrapFile: env['MESH_BOOTSTRAP_FILE'] } : {}),
  };
}
