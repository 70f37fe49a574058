// Starts payment-service from the environment (PORT, HOST, DATA_DIR, LOG_LEVEL, PAYMENT_LATENCY_MS, PAYMENT_DECLINE_RATE).
import { readServiceEnv, runService } from '@meshcart/service-kit';
import { buildApp } from './app';
import { readPaymentConfig } from './config';

const DEFAULT_PORT = 3004;

const env = readServiceEnv('payment-service', DEFAULT_PORT);
const { processor } = readPaymentConfig();
const app = await buildApp({ dataDir: env.dataDir, logger: { level: env.logLevel }, processor });
await runService(app, { name: 'payment-service', host: env.host, port: env.port });
