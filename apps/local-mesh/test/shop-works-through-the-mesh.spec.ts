import { makeTempDir } from '@meshcart/testing';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { request as httpRequest } from 'node:http';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalMesh, ephemeralPlan, INSTANCES, type PortPlan } from '@meshcart/mesh-launcher';

async function call<T = unknown>(url: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}) {
  const res = await request(url, {
    method: (init.method ?? 'GET') as 'GET',
    headers: { ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}), ...init.headers },
    body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
  });
  return { status: res.statusCode, body: (await res.body.json()) as T };
}

/** Sums a counter's samples whose labels include all of `labels`. */
async function counter(adminUrl: string, name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await request(`${adminUrl}/metrics`)).body.text();
  return text
    .split('\n')
    .filter((l) => l.startsWith(`${name}{`) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

describe.each(['sidecar', 'proxyless', 'off'] as const)('MeshCart on a local mesh of real processes, mesh %s', (mode) => {
  let mesh: LocalMesh;
  let plan: PortPlan;
  const dir = makeTempDir('meshcart-e2e-');

  beforeAll(async () => {
    plan = await ephemeralPlan('127.0.0.1');
    mesh = await LocalMesh.start({
      plan,
      dataDir: dir.path,
      profile: 'optimized',
      mode,
      logLevel: 'warn',
      serviceEnv: { 'payment-service': { PAYMENT_LATENCY_MS: '0' } },
    });
  }, 120_000);

  afterAll(async () => {
    await mesh?.stop();
    dir.remove();
  }, 60_000);

  it('lists every sidecar and the gateway at the control plane, each on the same config version per service', async () => {
    const { body } = await call<{ service: string; instance: string; mode: string; adminUrl: string; configVersion: string }[]>(
      `${mesh.controlPlaneUrl}/api/v1/proxies`,
    );
    expect(body.map((p) => p.instance).sort()).toEqual([...INSTANCES.map((i) => i.instance), 'gateway-1'].sort());
    for (const p of body) {
      expect(p.configVersion).toMatch(/^[0-9a-f]{16}$/);
      expect(p.mode).toBe(p.service === 'gateway' ? 'edge' : mode);
    }
    const products = body.filter((p) => p.service === 'product-service');
    expect(new Set(products.map((p) => p.configVersion)).size).toBe(1);
  });

  it('registers, logs in and places an order; stock drops, one payment is recorded, every hop is counted', async () => {
    const g = mesh.gatewayUrl;
    const user = await call<{ id: string }>(`${g}/api/users`, {
      method: 'POST',
      body: { email: 'e2e@example.com', password: 'correct horse', name: 'E2E' },
    });
    expect(user.status).toBe(201);
    const session = await call<{ token: string }>(`${g}/api/sessions`, {
      method: 'POST',
      body: { email: 'e2e@example.com', password: 'correct horse' },
    });
    expect(session.status).toBe(200);
    const auth = { authorization: `Bearer ${session.body.token}` };

    const before = await call<{ id: string; stock: number; priceCents: number }>(`${g}/api/products/p-003`);
    expect(before.status).toBe(200);
    const order = await call<{ id: string; status: string; totalCents: number }>(`${g}/api/orders`, {
      method: 'POST',
      headers: { ...auth, 'idempotency-key': 'e2e-order-1' },
      body: { items: [{ productId: 'p-003', quantity: 2 }] },
    });
    expect(order.status).toBe(201);
    expect(order.body).toMatchObject({ status: 'confirmed', totalCents: before.body.priceCents * 2 });

    const after = await call<{ stock: number }>(`${g}/api/products/p-003`);
    expect(after.body.stock).toBe(before.body.stock - 2);

    // The payments recorded, read from payment-service's own database (its API is closed to callers
    // other than order-service by the authorization policy).
    const charges = () => {
      const db = new Database(join(dir.path, 'payment-service.db'), { readonly: true });
      try {
        return db.prepare('SELECT order_id AS orderId, amount_cents AS amountCents, status FROM charges WHERE order_id = ?').all(order.body.id);
      } finally {
        db.close();
      }
    };
    expect(charges()).toEqual([{ orderId: order.body.id, amountCents: order.body.totalCents, status: 'succeeded' }]);

    const retried = await call<{ id: string }>(`${g}/api/orders`, {
      method: 'POST',
      headers: { ...auth, 'idempotency-key': 'e2e-order-1' },
      body: { items: [{ productId: 'p-003', quantity: 2 }] },
    });
    expect(retried.body.id).toBe(order.body.id);
    expect(charges()).toHaveLength(1);

    // What the mesh saw of the saga: outbound at order-service (sidecar or in-process), inbound at payment's sidecar.
    if (mode !== 'off') {
      const orderAdmin = mesh.sidecarAdminUrls['order-service-1']!;
      for (const dst of ['user-service', 'product-service', 'payment-service']) {
        expect(
          await counter(orderAdmin, 'mesh_requests_total', { direction: 'outbound', src_service: 'order-service', dst_service: dst }),
          dst,
        ).toBeGreaterThan(0);
      }
    }
    if (mode !== 'off') {
      // The profile's STRICT mTLS: payment-service's sidecar, or proxyless its own mesh port, knows the caller from its certificate.
      expect(
        await counter(mesh.sidecarAdminUrls['payment-service-1']!, 'mesh_requests_total', {
          direction: 'inbound',
          src_service: 'order-service',
          status_code: '201',
        }),
      ).toBe(1);
      expect(
        await counter(mesh.sidecarAdminUrls['order-service-1']!, 'mesh_tls_handshakes_total', { dst_service: 'payment-service' }),
      ).toBeGreaterThan(0);
    }
  });

  it('rejects a bad token at order-service with 401, through the gateway', async () => {
    const res = await call<{ error: { code: string } }>(`${mesh.gatewayUrl}/api/orders`, { headers: { authorization: 'Bearer nope' } });
    expect(res.status).toBe(401);
    expect(res.body.error.code).toBe('UNAUTHORIZED');
  });

  // With the mesh off there is no mesh to count what each replica served.
  it.runIf(mode !== 'off')('balances product traffic over both replicas', async () => {
    for (let i = 0; i < 30; i++) await call(`${mesh.gatewayUrl}/api/products?page=${(i % 3) + 1}`);
    const served = await Promise.all(
      ['product-service-1', 'product-service-2'].map((p) =>
        counter(mesh.sidecarAdminUrls[p]!, 'mesh_requests_total', { direction: 'inbound', dst_service: 'product-service' }),
      ),
    );
    expect(served[0]).toBeGreaterThan(0);
    expect(served[1]).toBeGreaterThan(0);
  });

  it('keeps everyone on product-service v1, and sends the calls that ask for it (x-canary: true) to the v2 canary', async () => {
    const versions = async (headers: Record<string, string>, n: number) => {
      const seen: string[] = [];
      for (let i = 0; i < n; i++) {
        const res = await request(`${mesh.gatewayUrl}/api/products/p-00${(i % 5) + 1}`, { headers });
        expect(res.statusCode).toBe(200);
        await res.body.dump();
        seen.push(String(res.headers['x-product-version']));
      }
      return [...new Set(seen)];
    };
    expect(await versions({}, 20)).toEqual(['v1']);
    expect(await versions({ 'x-canary': 'true' }, 10)).toEqual(['v2']);
  });

  // Only sidecars have an outbound listener.
  it.runIf(mode === 'sidecar')('lets any HTTP client use a sidecar as its HTTP proxy (absolute-form URI)', async () => {
    const outbound = plan.instances['order-service-1']!.outbound;
    const body = await new Promise<string>((resolve, reject) => {
      // What curl -x or any HTTP_PROXY-aware client sends: the absolute URI as the request target.
      const req = httpRequest({ host: '127.0.0.1', port: outbound, path: 'http://product-service/products/p-001' }, (r) => {
        let text = '';
        r.on('data', (c) => (text += c));
        r.on('end', () => resolve(text));
      });
      req.on('error', reject);
      req.end();
    });
    expect(JSON.parse(body)).toMatchObject({ id: 'p-001' });
  });

  // Sidecar mode: callers are proven by their certificates, so the shipped default-deny policy is exact.
  it.runIf(mode === 'sidecar')('refuses calls the authorization policy does not allow (product-service may not charge)', async () => {
    const outbound = plan.instances['product-service-1']!.outbound;
    const status = await new Promise<number>((resolve, reject) => {
      const req = httpRequest(
        {
          host: '127.0.0.1',
          port: outbound,
          method: 'POST',
          path: 'http://payment-service/charges',
          headers: { 'content-type': 'application/json' },
        },
        (r) => {
          r.resume();
          resolve(r.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      req.end('{}');
    });
    expect(status).toBe(403);
    expect(await counter(mesh.sidecarAdminUrls['payment-service-1']!, 'mesh_authz_denied_total', { src_service: 'product-service' })).toBe(1);
  });

  // Proxyless: the app serves the mesh's mTLS itself; plaintext is refused on both its ports, whatever it claims.
  it.runIf(mode === 'proxyless')('refuses plaintext to a proxyless service on its mesh port and on its own port; probes still answer', async () => {
    const ports = plan.instances['payment-service-1']!;
    for (const port of [ports.inbound, ports.app]) {
      const res = await call<{ error: { code: string } }>(`http://127.0.0.1:${port}/charges`, {
        method: 'POST',
        headers: { 'x-meshcart-src': 'order-service' },
        body: { orderId: 'o-1', amountCents: 100 },
      });
      expect(res.status, `port ${port}`).toBe(403);
      expect(res.body.error.code).toBe('MESH_ERR_MTLS_REQUIRED');
    }
    expect((await call(`http://127.0.0.1:${ports.app}/healthz`)).status).toBe(200);
  });

  it('stops every process it started', async () => {
    const pids = mesh.rows().map((r) => r.pid!);
    expect(pids).toHaveLength(INSTANCES.length * (mode === 'sidecar' ? 2 : 1) + 2);
    await mesh.stop();
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
  });
});
