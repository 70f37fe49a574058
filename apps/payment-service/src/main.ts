// Starts payment-service from the environment (PORT, HOST, DATA_DIR, LOG_LEVEL, PAYMENT_LATENCY_MS, PAYMENT_DECLINE_RATE).
import { readServiceEnv, runService } from '@meshcart/service-kit';
import { ServiceMesh } from '@meshcart/sidecar';
import { buildApp } from './app';
import { readPaymentConfig } from './config';

const DEFAULT_PORT = 3004;

const env = readServiceEnv('payment-service', DEFAULT_PORT);
// Proxyless, the service registers itself with the control plane; otherwise this is a no-op.
const mesh = new ServiceMesh(env.mesh);
const { processor } = readPaymentConfig();
const app = await buildApp({ dataDir: env.dataDir, logger: { level: env.logLevel }, processor });
app.addReadinessCheck('mesh', () => mesh.ready());
// Leave the mesh first, so callers stop picking this instance before it stops serving.
app.addHook('preClose', () => mesh.leave());
await runService(app, {
  name: 'payment-service',
  host: env.host,
  port: env.port,
  onListening: (port) => mesh.joined(port),
  afterClose: () => mesh.close(),
});
