// Starts user-service from the environment (PORT, HOST, DATA_DIR, LOG_LEVEL).
import { readServiceEnv, runService } from '@meshcart/service-kit';
import { buildApp } from './app';

const DEFAULT_PORT = 3001;

const env = readServiceEnv('user-service', DEFAULT_PORT);
const app = await buildApp({ dataDir: env.dataDir, logger: { level: env.logLevel } });
await runService(app, { name: 'user-service', host: env.host, port: env.port });
