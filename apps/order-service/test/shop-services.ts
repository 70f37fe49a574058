// The real user, product and payment services as processes for order-service tests, and small clients for them.
import type { Charge, ChargeList, Product, Session } from '@meshcart/contracts';
import { MeshClient } from '@meshcart/service-kit';
import { makeTempDir, startServiceProcess, type StartedService } from '@meshcart/testing';
import { randomUUID } from 'node:crypto';

export type ShopServiceName = 'user-service' | 'product-service' | 'payment-service';

export interface ShopService extends StartedService {
  dataDir: string;
  /** Stops the process and deletes its data; safe to call twice. */
  dispose: () => Promise<void>;
}

/** Starts `apps/<name>/src/main.ts` on port 0 with its own data folder unless `dataDir` is given. */
export async function startShopService(name: ShopServiceName, env: Record<string, string> = {}, dataDir?: string): Promise<ShopService> {
  const temp = dataDir ? undefined : makeTempDir(`${name}-`);
  const dir = dataDir ?? temp!.path;
  const started = await startServiceProcess(name, `apps/${name}/src/main.ts`, {
    DATA_DIR: dir,
    MESH_MODE: 'off',
    PAYMENT_LATENCY_MS: '0',
    ...env,
  });
  return {
    ...started,
    dataDir: dir,
    dispose: async () => {
      await started.stop();
      temp?.remove();
    },
  };
}

/** How order-service reaches the others with the mesh off: straight to their ports. */
export function directMesh(upstreams: Partial<Record<ShopServiceName, ShopService>>): MeshClient {
  return new MeshClient({
    service: 'order-service',
    mode: 'off',
    upstreams: Object.fromEntries(Object.entries(upstreams).map(([name, svc]) => [name, svc.url])),
  });
}

async function json<T>(res: Response, expected: number): Promise<T> {
  const text = await res.text();
  if (res.status !== expected) throw new Error(`${res.url} answered ${res.status}, expected ${expected}: ${text}`);
  return JSON.parse(text) as T;
}

/** Registers a fresh user and logs in; returns the bearer header value and the user id. */
export async function signUp(users: ShopService): Promise<{ authorization: string; userId: string }> {
  const email = `shopper-${randomUUID()}@example.com`;
  const password = 'correct horse battery';
  const post = (path: string, body: unknown) =>
    fetch(`${users.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const user = await json<{ id: string }>(await post('/users', { email, password, name: 'Shopper' }), 201);
  const session = await json<Session>(await post('/sessions', { email, password }), 200);
  return { authorization: `Bearer ${session.token}`, userId: user.id };
}

export async function stockOf(products: ShopService, productId: string): Promise<number> {
  return (await json<Product>(await fetch(`${products.url}/products/${productId}`), 200)).stock;
}

export async function productPrice(products: ShopService, productId: string): Promise<number> {
  return (await json<Product>(await fetch(`${products.url}/products/${productId}`), 200)).priceCents;
}

export async function chargesFor(payments: ShopService, orderId: string): Promise<Charge[]> {
  return (await json<ChargeList>(await fetch(`${payments.url}/charges?orderId=${encodeURIComponent(orderId)}`), 200)).items;
}

export async function reserve(products: ShopService, orderId: string, items: { productId: string; quantity: number }[]) {
  const res = await fetch(`${products.url}/reservations`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ orderId, items }),
  });
  return json<{ totalCents: number }>(res, 201);
}

export async function commit(products: ShopService, orderId: string): Promise<void> {
  await json(await fetch(`${products.url}/reservations/${orderId}/commit`, { method: 'POST' }), 200);
}

export async function charge(payments: ShopService, orderId: string, amountCents: number): Promise<Charge> {
  const res = await fetch(`${payments.url}/charges`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'idempotency-key': orderId },
    body: JSON.stringify({ orderId, amountCents }),
  });
  return json<Charge>(res, 201);
}
