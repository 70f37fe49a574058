import { makeTempDir } from '@meshcart/testing';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { LocalMesh, ephemeralPlan } from '@meshcart/mesh-launcher';

const dir = makeTempDir('meshcart-drill-');
let mesh: LocalMesh;

beforeAll(async () => {
  // The optimized profile, with enough retries on product-service to ride out a 50% abort drill.
  const profile = parse(readFileSync(join(__dirname, '../../../deploy/mesh/optimized.yaml'), 'utf8'));
  profile.metadata.name = 'drill';
  const product = profile.spec.services['product-service'];
  product.policy = {
    ...product.policy,
    // Ten tries: a request fails only if all ten are aborted (1 in 1024), so ≥ 99% holds with a wide margin.
    retries: { attempts: 9, retryOn: ['5xx'], backoff: { baseMs: 1, maxMs: 5 } },
    retryBudget: { budgetPercent: 100, minRetriesPerSecond: 1000 },
  };
  writeFileSync(join(dir.path, 'drill.yaml'), stringify(profile));
  mesh = await LocalMesh.start({
    plan: await ephemeralPlan('127.0.0.1'),
    dataDir: join(dir.path, 'data'),
    configDir: dir.path,
    profile: 'drill',
    logLevel: 'warn',
  });
}, 120_000);

afterAll(async () => {
  await mesh?.stop();
  dir.remove();
}, 60_000);

describe('a fault drill on the running mesh', () => {
  it('a 50% abort on product-service, pushed live, is absorbed by retries: ≥ 99% success through the gateway', async () => {
    const put = await request(`${mesh.controlPlaneUrl}/api/v1/services/product-service/fault`, {
      method: 'PUT',
      // The operator credential the mesh's control plane wrote, as meshctl would send it.
      headers: { 'content-type': 'application/json', authorization: `Bearer ${mesh.operatorToken()}` },
      body: JSON.stringify({ abort: { httpStatus: 503, percent: 50 } }),
    });
    expect(put.statusCode).toBe(200);
    await put.body.dump();
    await new Promise((r) => setTimeout(r, 300)); // the push reaches every proxy

    let ok = 0;
    const n = 300;
    for (let i = 0; i < n; i++) {
      const res = await request(`${mesh.gatewayUrl}/api/products?page=${(i % 3) + 1}`);
      await res.body.dump();
      if (res.statusCode === 200) ok++;
    }
    expect(ok / n).toBeGreaterThanOrEqual(0.99);
    const metrics = await (await request(`${mesh.gatewayAdminUrl}/metrics`)).body.text();
    const retries = Number(/mesh_retries_total\{dst_service="product-service"[^}]*\} (\d+)/.exec(metrics)?.[1] ?? 0);
    // About one retry per request at 50%: the drill really injected faults.
    expect(retries).toBeGreaterThan(n / 2);
  });
});
