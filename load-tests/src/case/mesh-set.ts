// The meshes a benchmark compares, started side by side on loopback and stopped together.
import type { MeshMode } from '@meshcart/mesh-config';
import { ephemeralPlan, LocalMesh } from '@meshcart/mesh-launcher';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ShopScenario } from './shop-scenario';

export interface MeshSpec {
  key: string;
  mode: MeshMode;
  profile: string;
}

export interface RunningMesh {
  spec: MeshSpec;
  mesh: LocalMesh;
  scenario: ShopScenario;
  dataDir: string;
}

export interface MeshSetOptions {
  users: number;
  log: (message: string) => void;
}

/**
 * Starts every mesh before measuring any, so rounds can interleave them; an idle mesh costs only its
 * heartbeats. Payment's simulated processor delay is off: the case measures the mesh, not a fake bank.
 */
export async function startMeshes(specs: MeshSpec[], opts: MeshSetOptions): Promise<RunningMesh[]> {
  const running: RunningMesh[] = [];
  const stop = () => stopMeshes(running);
  try {
    for (const spec of specs) {
      const dataDir = mkdtempSync(join(tmpdir(), `meshcart-bench-${spec.key}-`));
      const started = Date.now();
      const mesh = await LocalMesh.start({
        plan: await ephemeralPlan('127.0.0.1'),
        dataDir,
        profile: spec.profile,
        mode: spec.mode,
        logLevel: 'warn',
        readyTimeoutMs: 180_000,
        serviceEnv: { 'payment-service': { PAYMENT_LATENCY_MS: '0' } },
      });
      const scenario = new ShopScenario({ gatewayUrl: mesh.gatewayUrl, users: opts.users });
      running.push({ spec, mesh, scenario, dataDir });
      await scenario.setUp(spec.key);
      opts.log(`mesh "${spec.key}" (${spec.mode}, ${spec.profile}) up in ${((Date.now() - started) / 1000).toFixed(1)} s with ${opts.users} users`);
    }
    return running;
  } catch (err) {
    await stop();
    throw err;
  }
}

export async function stopMeshes(running: RunningMesh[]): Promise<void> {
  await Promise.allSettled(
    running.map(async (r) => {
      await r.scenario.close();
      await r.mesh.stop();
      rmSync(r.dataDir, { recursive: true, force: true });
    }),
  );
}
