// Starts the gateway: joins the mesh as an edge proxy, then serves the public API.
import { readJoinCredential, readPort, runService } from '@meshcart/service-kit';
import { MeshRuntime } from '@meshcart/sidecar';
import pino from 'pino';
import { buildApp } from './app';

const env = process.env;
const host = env['HOST'] ?? '127.0.0.1';
const instance = env['MESH_INSTANCE'] ?? `gateway-${process.pid}`;
const mesh = new MeshRuntime({
  service: 'gateway',
  instance,
  mode: 'edge',
  controlPlaneUrls: (env['MESH_CONTROL_PLANE_URLS'] ?? 'http://127.0.0.1:15010').split(',').map((s) => s.trim()),
  admin: {
    host: env['ADMIN_HOST'] ?? '127.0.0.1',
    port: readPort(env, 'ADMIN_PORT', 15100),
    ...(env['ADVERTISE_HOST'] ? { advertiseHost: env['ADVERTISE_HOST'] } : {}),
  },
  logger: pino({ level: env['LOG_LEVEL'] ?? 'info', base: { service: 'gateway', instance, component: 'mesh' } }),
  ...(readJoinCredential(env) ? { join: readJoinCredential(env) } : {}),
});
const adminUrl = await mesh.startAdmin();
mesh.connect(adminUrl);
const app = buildApp({ mesh, logger: { level: env['LOG_LEVEL'] ?? 'info' } });
await runService(app, {
  name: 'gateway',
  host,
  port: readPort(env, 'PORT', 8080),
  extraPorts: { admin: mesh.adminPort },
  afterClose: () => mesh.close(),
});
