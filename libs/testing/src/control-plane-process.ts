// A real control plane as its own process on a loopback port, serving one mesh config: the CA and the pushes for data-plane tests.
import { ManagedProcess } from '@meshcart/service-kit';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from './temp-dir';

export interface ControlPlaneProcess {
  url: string;
  /** The join credential of `service`, which a workload of it presents (MESH_JOIN_TOKEN). */
  joinToken: (service: string) => string;
  /** The operator credential, for changes (Authorization: Bearer). */
  operatorToken: string;
  process: ManagedProcess;
  /** Stops the process and removes its CA, config and state. */
  stop: () => Promise<void>;
}

/** The shop's services and the gateway: the join credentials a test control plane is given unless told others. */
const SHOP = ['gateway', 'user-service', 'product-service', 'order-service', 'payment-service'];

/**
 * Starts apps/control-plane with `configYaml` as its only profile, a fresh CA, a fresh join
 * credential for each of `services`, and a fresh operator credential. Projects that may not import
 * the control plane (the data-plane libraries) run it this way.
 */
export async function startControlPlaneProcess(
  configYaml: string,
  opts: { leaseTtlMs?: number; services?: string[] } = {},
): Promise<ControlPlaneProcess> {
  const dir = makeTempDir('meshcart-cp-');
  mkdirSync(join(dir.path, 'config'));
  writeFileSync(join(dir.path, 'config', 'test.yaml'), configYaml);
  const tokens = Object.fromEntries((opts.services ?? SHOP).map((s) => [s, `mcj_${randomBytes(24).toString('base64url')}`]));
  const operatorToken = `mco_${randomBytes(32).toString('base64url')}`;
  const joinToken = (service: string) => {
    const token = tokens[service];
    if (!token) throw new Error(`no join credential for ${service}; this control plane knows ${Object.keys(tokens).join(', ')}`);
    return token;
  };
  try {
    const proc = await ManagedProcess.start({
      name: 'control-plane',
      entry: 'apps/control-plane/src/main.ts',
      readyTimeoutMs: 60_000,
      env: {
        HOST: '127.0.0.1',
        PORT: '0',
        LOG_LEVEL: 'warn',
        MESH_CONFIG_DIR: join(dir.path, 'config'),
        MESH_PROFILE: 'test',
        MESH_CA_DIR: join(dir.path, 'ca'),
        MESH_CONFIG_STATE_DIR: join(dir.path, 'state'),
        MESH_TLS_PORT: '0',
        MESH_JOIN_CREDENTIALS: Object.entries(tokens)
          .map(([service, token]) => `${service}=${token}`)
          .join(','),
        MESH_OPERATOR_TOKEN: operatorToken,
        MESH_LEASE_TTL_MS: String(opts.leaseTtlMs ?? 10_000),
      },
    });
    return {
      url: `http://127.0.0.1:${proc.ports['http']}`,
      joinToken,
      operatorToken,
      process: proc,
      stop: async () => {
        await proc.stop();
        dir.remove();
      },
    };
  } catch (err) {
    dir.remove();
    throw err;
  }
}
