// A real control plane as its own process on a loopback port, serving one mesh config: the CA and the pushes for data-plane tests.
import { ManagedProcess } from '@meshcart/service-kit';
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeTempDir } from './temp-dir';

export interface ControlPlaneProcess {
  url: string;
  /** What a workload presents for its certificate (MESH_BOOTSTRAP_TOKEN). */
  bootstrapToken: string;
  process: ManagedProcess;
  /** Stops the process and removes its CA, config and state. */
  stop: () => Promise<void>;
}

/**
 * Starts apps/control-plane with `configYaml` as its only profile, a fresh CA and a fresh bootstrap
 * token. Projects that may not import the control plane (the data-plane libraries) run it this way.
 */
export async function startControlPlaneProcess(configYaml: string, opts: { leaseTtlMs?: number } = {}): Promise<ControlPlaneProcess> {
  const dir = makeTempDir('meshcart-cp-');
  mkdirSync(join(dir.path, 'config'));
  writeFileSync(join(dir.path, 'config', 'test.yaml'), configYaml);
  const bootstrapToken = randomBytes(24).toString('base64url');
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
        MESH_BOOTSTRAP_TOKEN: bootstrapToken,
        MESH_LEASE_TTL_MS: String(opts.leaseTtlMs ?? 10_000),
      },
    });
    return {
      url: `http://127.0.0.1:${proc.ports['http']}`,
      bootstrapToken,
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
