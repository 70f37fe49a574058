// Starts payment-service from the environment (PORT, HOST, DATA_DIR, LOG_LEVEL, PAYMENT_LATENCY_MS, PAYMENT_DECLINE_RATE).
import { readServiceEnv } from '@meshcart/service-kit';
import { ServiceMesh } from '@meshcart/service-mesh';
import { buildApp } from './app';
import { readPaymentConfig } from './config';

const DEFAULT_PORT = 3004;

const env = readServiceEnv('payment-service', DEFAULT_PORT);
// How this service joins the mesh (sidecar, proxyless or off): see ServiceMesh.
const mesh = new ServiceMesh(env.mesh);
const { processor } = readPaymentConfig();
const app = await buildApp({ dataDir: env.dataDir, logger: { level: env.logLevel }, processor });
await mesh.run(app, env);
