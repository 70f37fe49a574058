// Starts the control plane from environment settings.
import { readNumber, readPort, runService } from '@meshcart/service-kit';
import { buildApp } from './app';

const env = process.env;
let app: ReturnType<typeof buildApp>;
try {
  app = buildApp({
    configDir: env['MESH_CONFIG_DIR'] ?? 'deploy/mesh',
    profile: env['MESH_PROFILE'] ?? 'optimized',
    leaseTtlMs: readNumber(env, 'MESH_LEASE_TTL_MS', 10_000, 500, 600_000),
    logger: { level: env['LOG_LEVEL'] ?? 'info' },
  });
} catch (err) {
  // A bad config file or setting stops the start with the reason, not a stack trace.
  console.error(`control-plane: ${(err as Error).message}`);
  process.exit(1);
}
await runService(app, { name: 'control-plane', host: env['HOST'] ?? '127.0.0.1', port: readPort(env, 'PORT', 15010) });
