// Starts product-service from the environment (PORT, HOST, DATA_DIR, LOG_LEVEL).
import { readServiceEnv, runService } from '@meshcart/service-kit';
import { buildApp } from './app';

const DEFAULT_PORT = 3002;

const env = readServiceEnv('product-service', DEFAULT_PORT);
const app = await buildApp({ dataDir: env.dataDir, logger: { level: env.logLevel } });
await runService(app, { name: 'product-service', host: env.host, port: env.port });
