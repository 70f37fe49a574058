// Starts the control plane from environment settings.
import { readNumber, readPort, runService } from '@meshcart/service-kit';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { buildApp } from './app';

const env = process.env;

/** MESH_BOOTSTRAP_TOKEN, or one made on first start and kept beside the CA for local runs. */
function bootstrapToken(e: NodeJS.ProcessEnv): string {
  if (e['MESH_BOOTSTRAP_TOKEN']) return e['MESH_BOOTSTRAP_TOKEN'];
  const file = join(e['MESH_CA_DIR'] ?? '.data/ca', 'bootstrap-token');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dirname(file), { recursive: true });
  const token = randomBytes(24).toString('base64url');
  writeFileSync(file, `${token}\n`, { mode: 0o600 });
  return token;
}
let app: ReturnType<typeof buildApp>;
try {
  app = buildApp({
    configDir: env['MESH_CONFIG_DIR'] ?? 'deploy/mesh',
    profile: env['MESH_PROFILE'] ?? 'optimized',
    caDir: env['MESH_CA_DIR'] ?? '.data/ca',
    stateDir: env['MESH_CONFIG_STATE_DIR'] ?? '.data/config-store',
    bootstrapToken: bootstrapToken(env),
    leaseTtlMs: readNumber(env, 'MESH_LEASE_TTL_MS', 10_000, 500, 600_000),
    logger: { level: env['LOG_LEVEL'] ?? 'info' },
  });
} catch (err) {
  // A bad config file or setting stops the start with the reason, not a stack trace.
  console.error(`control-plane: ${(err as Error).message}`);
  process.exit(1);
}
await runService(app, { name: 'control-plane', host: env['HOST'] ?? '127.0.0.1', port: readPort(env, 'PORT', 15010) });
