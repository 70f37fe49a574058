import { makeTempDir } from '@meshcart/testing';
import { instancesOf, loadTopology } from '@meshcart/topology';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';

const run = promisify(execFile);
const root = join(__dirname, '../../..');
const dir = makeTempDir('meshcart-meshctl-');
// Below the ephemeral range, and apart from the npm start test's range (they may run at once).
const base = 12_000 + Math.floor(Math.random() * 90) * 100;
const cpUrl = `http://127.0.0.1:${base + 99}`;
const gateway = `http://127.0.0.1:${base + 98}`;
let mesh: ChildProcess;

async function meshctl<T = unknown>(...args: string[]): Promise<{ code: number; json?: T; stdout: string; stderr: string }> {
  try {
    // As an operator on this machine: meshctl finds the credential npm start's control plane wrote in the data directory.
    const { stdout, stderr } = await run('npx', ['meshctl', '--control-plane', cpUrl, ...args], {
      cwd: root,
      env: { ...process.env, MESHCART_DATA_DIR: join(dir.path, 'data') },
    });
    let json: T | undefined;
    try {
      json = JSON.parse(stdout) as T;
    } catch {
      json = undefined;
    }
    return { code: 0, json, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(async () => {
  mesh = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'apps/local-mesh/src/main.ts',
      '--port-base',
      String(base),
      '--control-plane-port',
      String(base + 99),
      '--gateway-port',
      String(base + 98),
      '--data-dir',
      join(dir.path, 'data'),
    ],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  mesh.stdout!.on('data', (c) => (output += c));
  mesh.stderr!.on('data', (c) => (output += c));
  const until = Date.now() + 90_000;
  while (!output.includes('Press Ctrl-C')) {
    if (Date.now() > until || mesh.exitCode !== null) throw new Error(`mesh did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}, 120_000);

afterAll(async () => {
  mesh.kill('SIGINT');
  await new Promise((r) => mesh.once('exit', r));
  dir.remove();
}, 60_000);

interface Proxy {
  instance: string;
  mode: string;
  configVersion: string;
  certNotAfter: string | null;
  controlPlane: string | null;
  acks: { resources?: { acked: boolean } };
}
type History = { seq: number; version: string; profile: string; by?: string }[];

describe('meshctl against npm start', () => {
  it('status lists every proxy with its mode, config version, ACK, control plane and certificate expiry', async () => {
    // Certificate expiry arrives with each proxy's next registration; give it a moment.
    let json: Proxy[] | undefined;
    for (let i = 0; i < 20; i++) {
      json = (await meshctl<Proxy[]>('status', '--json')).json;
      if (json?.every((p) => p.certNotAfter)) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    // Every instance deploy/topology.yaml declares, and the gateway.
    expect(json).toHaveLength(instancesOf(loadTopology(join(root, 'deploy/topology.yaml'))).length + 1);
    for (const p of json!) {
      expect(p.acks.resources?.acked).toBe(true);
      expect(p.configVersion).toMatch(/^[0-9a-f]{16}$/);
      expect(new Date(p.certNotAfter!).getTime()).toBeGreaterThan(Date.now());
    }
    // npm start runs one control plane: every proxy streams from that replica.
    const replica = json![0]!.controlPlane;
    expect(replica).toMatch(/-[0-9a-f]{6}$/);
    expect(json!.every((p) => p.controlPlane === replica)).toBe(true);
    const table = (await meshctl('status')).stdout;
    expect(table).toContain('order-service-1');
    expect(table).toContain(replica);
  });

  it('stat reports success rate, rate and latency per service from the proxies', async () => {
    let done = false;
    // Traffic for as long as meshctl measures, whatever its start-up time.
    const traffic = (async () => {
      while (!done) await (await request(`${gateway}/api/products?page=1`)).body.dump();
    })();
    const { json } = await meshctl<{ service: string; successRate: number; rps: number; p50Ms: number; p99Ms: number }[]>(
      'stat',
      '--window',
      '1',
      '--json',
    );
    done = true;
    await traffic;
    const product = json!.find((r) => r.service === 'product-service')!;
    expect(product.rps).toBeGreaterThan(0);
    expect(product.successRate).toBe(1);
    expect(product.p99Ms).toBeGreaterThanOrEqual(product.p50Ms);
  });

  it("routes shows a service's routes and policies", async () => {
    const { stdout } = await meshctl('routes', 'order');
    expect(stdout).toContain('place-order');
    expect(stdout).toContain('POST /orders');
  });

  it('drain keeps an instance out of every endpoint list, status shows it, and undrain brings it back', async () => {
    const products = async () =>
      ((await (await request(`${cpUrl}/api/v1/endpoints`)).body.json()) as { clusters: Record<string, { instance: string }[]> }).clusters[
        'product-service'
      ]!.map((e) => e.instance);
    expect(await products()).toContain('product-service-2');
    const drained = await meshctl('drain', 'product-service-2');
    expect(drained.code, drained.stderr).toBe(0);
    expect(drained.stdout).toContain('product-service-2 is drained: no proxy sends it new requests until meshctl undrain product-service-2');
    expect(await products()).not.toContain('product-service-2');
    const status = await meshctl<{ instance: string; drained?: boolean }[]>('status', '--json');
    expect(status.json!.find((p) => p.instance === 'product-service-2')!.drained).toBe(true);
    expect((await meshctl('undrain', 'product-service-2')).code).toBe(0);
    expect(await products()).toContain('product-service-2');
    const unknown = await meshctl('drain', 'product-service-9');
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('PROXY_NOT_REGISTERED: proxy "product-service-9" is not registered');
  });

  it('diff reads baseline → optimized as knobs', async () => {
    const { json } = await meshctl<{ path: string }[]>('diff', 'baseline', 'optimized', '--json');
    expect(json!.map((c) => c.path)).toEqual(
      expect.arrayContaining(['spec.mtls.keyType', 'spec.defaults.policy.connectionPool.maxRequestsPerConnection']),
    );
  });

  it('apply (dry run first), history and rollback change what every proxy runs, and back', async () => {
    const profile = parse(readFileSync(join(root, 'deploy/mesh/optimized.yaml'), 'utf8'));
    profile.spec.defaults.policy.timeoutMs = 4000;
    const file = join(dir.path, 'tuned.yaml');
    writeFileSync(file, stringify(profile));
    const before = (await meshctl<History>('history', '--json')).json!;

    const dry = await meshctl<{ changes: { path: string; to: unknown }[] }>('apply', '-f', file, '--dry-run', '--json');
    expect(dry.json!.changes).toEqual([{ path: 'spec.defaults.policy.timeoutMs', from: 5000, to: 4000 }]);
    expect((await meshctl<History>('history', '--json')).json).toHaveLength(before.length);

    const applied = await meshctl<{ version: string }>('apply', '-f', file, '--json');
    expect(applied.code).toBe(0);
    const converged = async (version: string) => {
      for (let i = 0; i < 50; i++) {
        const cfg = (await (await request(`${cpUrl}/api/v1/config`)).body.json()) as { version: string };
        // Polled over HTTP directly: starting meshctl each time would take longer than the push.
        const proxies = (await (await request(`${cpUrl}/api/v1/proxies`)).body.json()) as Proxy[];
        if (cfg.version === version && proxies.every((p) => p.acks.resources?.acked)) return proxies;
        await new Promise((r) => setTimeout(r, 100));
      }
      throw new Error('proxies did not converge');
    };
    const afterApply = await converged(applied.json!.version);
    const routes = (await (await request(`${cpUrl}/api/v1/services/order-service/resources`)).body.json()) as {
      resources: { virtualHosts: { name: string; routes: { name: string; timeoutMs: number }[] }[] };
    };
    expect(routes.resources.virtualHosts.find((v) => v.name === 'product-service')!.routes[0]!.timeoutMs).toBe(4000);

    const first = before[before.length - 1]!.version;
    const rolled = await meshctl<{ version: string }>('rollback', '--to', first, '--json');
    expect(rolled.json!.version).toBe(first);
    const afterRollback = await converged(first);
    expect(afterRollback.map((p) => p.configVersion)).not.toEqual(afterApply.map((p) => p.configVersion));
    // The earlier behaviour is back: the route timeout every proxy is given.
    const restored = (await (await request(`${cpUrl}/api/v1/services/order-service/resources`)).body.json()) as typeof routes;
    expect(restored.resources.virtualHosts.find((v) => v.name === 'product-service')!.routes[0]!.timeoutMs).toBe(5000);
    const history = (await meshctl<History>('history', '--json')).json!;
    expect(history.map((h) => h.version).slice(-2)).toEqual([applied.json!.version, first]);
    expect(history.slice(-2).map((h) => h.by)).toEqual(['operator', 'operator']);
    // The audit trail: who changed what, and the version before and after.
    const audit = (await meshctl<{ by: string; action: string; before?: string; after?: string }[]>('history', '--audit', '--json')).json!;
    expect(audit.slice(-2)).toEqual([
      expect.objectContaining({ by: 'operator', action: `config apply (meshctl apply -f ${file})`, after: applied.json!.version }),
      expect.objectContaining({ by: 'operator', action: `rollback to ${first}`, before: applied.json!.version, after: first }),
    ]);
  }, 60_000);

  it('refuses a malformed file whole, naming the problem, and keeps the config in force', async () => {
    const version = ((await (await request(`${cpUrl}/api/v1/config`)).body.json()) as { version: string }).version;
    const bad = join(dir.path, 'bad.yaml');
    writeFileSync(
      bad,
      'apiVersion: meshcart.io/v1alpha1\nkind: MeshConfig\nmetadata: {name: bad}\nspec:\n  services:\n    order-service: { policy: { timeoutMs: -1 } }\n',
    );
    const res = await meshctl('apply', '-f', bad);
    expect(res.code).toBe(1);
    expect(res.stderr).toContain('spec.services.order-service.policy.timeoutMs: must be >= 1');
    expect(((await (await request(`${cpUrl}/api/v1/config`)).body.json()) as { version: string }).version).toBe(version);
  });

  it("join lists each service's own credential, creates one shown once, and revokes it", async () => {
    type Credential = { id: string; service: string; origin: string; revokedAt?: string };
    const listed = (await meshctl<Credential[]>('join', 'list', '--json')).json!;
    // npm start hands each service its own, new every run: one per service and the gateway.
    const shop = Object.keys(loadTopology(join(root, 'deploy/topology.yaml')).services);
    expect(listed.map((c) => c.service).sort()).toEqual(['gateway', ...shop].sort());
    expect(listed.every((c) => c.origin === 'environment' && !c.revokedAt)).toBe(true);
    const created = await meshctl('join', 'create', 'payment-service');
    expect(created.code).toBe(0);
    const [line, token] = created.stdout.split('\n');
    const id = /join credential ([0-9a-f]{12}) for payment-service/.exec(line!)![1]!;
    expect(token).toMatch(/^mcj_/);
    const revoked = await meshctl<{ revoked: Credential[] }>('join', 'revoke', id, '--json');
    expect(revoked.json!.revoked).toEqual([expect.objectContaining({ id, service: 'payment-service', revokedAt: expect.any(String) })]);
    // The revoked credential gets no certificate.
    const res = await request(`${cpUrl}/api/v1/certificates`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify({ service: 'payment-service', csr: 'x' }),
    });
    expect(res.statusCode).toBe(401);
    expect(await res.body.text()).toContain('was revoked at');
    expect((await meshctl('join', 'revoke', '--service', 'nope-service')).stderr).toContain('NO_SUCH_CREDENTIAL');
  });

  it('ca rotate moves the whole mesh to a new root step by step, and the shop keeps working', async () => {
    type Status = { phase: string; roots: { fingerprint: string; role: string }[] };
    const before = (await meshctl<Status>('ca', 'status', '--json')).json!;
    expect(before).toMatchObject({ phase: 'steady', roots: [{ role: 'signing' }] });
    const rotated = await meshctl('ca', 'rotate');
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(rotated.stdout).toContain('step 1/3');
    expect(rotated.stdout).toContain('done: one root, every proxy renewed for it');
    const after = (await meshctl<Status>('ca', 'status', '--json')).json!;
    expect(after.phase).toBe('steady');
    expect(after.roots.map((r) => r.role)).toEqual(['signing']);
    expect(after.roots[0]!.fingerprint).not.toBe(before.roots[0]!.fingerprint);
    const order = await request(`${gateway}/api/products/p-001`);
    expect(order.statusCode).toBe(200);
    await order.body.dump();
  });

  it('profile use switches the whole mesh to another profile', async () => {
    const res = await meshctl<{ version: string }>('profile', 'use', 'baseline', '--json');
    expect(res.code).toBe(0);
    const cfg = (await (await request(`${cpUrl}/api/v1/config`)).body.json()) as { profile: string; version: string };
    expect(cfg).toMatchObject({ profile: 'baseline', version: res.json!.version });
    // The shop still works under the other profile (new RSA certificates, a connection per request).
    for (let i = 0; i < 50; i++) {
      const r = await request(`${gateway}/api/products/p-001`);
      await r.body.dump();
      if (r.statusCode === 200) return;
      await new Promise((done) => setTimeout(done, 100));
    }
    throw new Error('the shop did not answer under the baseline profile');
  });
});
