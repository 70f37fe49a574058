// A shopper for the labs that place orders: one registered user whose session token is kept in the lab's notes.
import { randomUUID } from 'node:crypto';
import { request } from 'undici';
import type { LabMesh } from './lab-mesh';
import type { LabRequest } from './traffic';

interface Shopper {
  email: string;
  password: string;
  token?: string;
  /** When the token stops working (ms since the epoch). */
  expiresAt?: number;
}

export interface ShopAnswer {
  status: number;
  /** `error.code` of an error answer (`MESH_ERR_CIRCUIT_OPEN`, …), or a failed order's `reason`. */
  code?: string;
  ms: number;
  body: Record<string, unknown>;
}

/** One call through the gateway, its answer read whole. */
async function call(mesh: LabMesh, r: LabRequest): Promise<ShopAnswer> {
  const t0 = performance.now();
  const res = await request(`${mesh.gatewayUrl}${r.path}`, {
    method: r.method ?? 'GET',
    headers: { ...(r.body !== undefined ? { 'content-type': 'application/json' } : {}), ...r.headers },
    body: r.body !== undefined ? JSON.stringify(r.body) : undefined,
    headersTimeout: 15_000,
    bodyTimeout: 15_000,
  });
  const text = await res.body.text();
  let body: Record<string, unknown> = {};
  try {
    body = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // not JSON: the status says enough
  }
  const code = (body['error'] as { code?: string } | undefined)?.code ?? (typeof body['reason'] === 'string' ? body['reason'] : undefined);
  return { status: res.statusCode, ...(code ? { code } : {}), ms: performance.now() - t0, body };
}

/**
 * A bearer token for placing orders: registers a user (POST /api/users) the first time, then opens a session
 * (POST /api/sessions) whenever the token kept in the notes is missing or about to expire. A data folder
 * wiped since the lab started (the account gone) is met by registering again.
 */
export async function shopperToken(mesh: LabMesh): Promise<string> {
  let shopper = mesh.notes['shopper'] as Shopper | undefined;
  const register = async (s: Shopper) => {
    const created = await call(mesh, { method: 'POST', path: '/api/users', body: { email: s.email, password: s.password, name: 'Lab Shopper' } });
    if (created.status !== 201 && created.status !== 409)
      throw new Error(`could not register a shopper through the gateway: POST /api/users answered ${created.status}`);
  };
  if (!shopper) {
    shopper = { email: `lab-${randomUUID().slice(0, 8)}@meshcart.example`, password: `lab-${randomUUID()}` };
    await register(shopper);
    mesh.notes['shopper'] = shopper;
  }
  if (shopper.token && (shopper.expiresAt ?? 0) > Date.now() + 5 * 60_000) return shopper.token;
  const login = () => call(mesh, { method: 'POST', path: '/api/sessions', body: { email: shopper.email, password: shopper.password } });
  let session = await login();
  if (session.status === 401) {
    await register(shopper);
    session = await login();
  }
  if (session.status !== 200 || typeof session.body['token'] !== 'string')
    throw new Error(`could not open a session through the gateway: POST /api/sessions answered ${session.status}`);
  shopper.token = session.body['token'];
  shopper.expiresAt = Date.now() + Number(session.body['expiresIn'] ?? 3600) * 1000;
  return shopper.token;
}

/** The catalog's best-stocked products (GET /api/products), so a lab's orders do not run a shelf empty. */
export async function stockedProducts(mesh: LabMesh, count = 24): Promise<string[]> {
  const res = await request(`${mesh.gatewayUrl}/api/products?pageSize=100`, { headersTimeout: 15_000 });
  const body = (await res.body.json().catch(() => ({}))) as { items?: { id: string; stock: number }[] };
  const items = (body.items ?? []).filter((p) => p.stock > 0).sort((a, b) => b.stock - a.stock);
  if (res.statusCode !== 200 || items.length === 0)
    throw new Error(`could not read the catalog through the gateway: GET /api/products answered ${res.statusCode}`);
  return items.slice(0, count).map((p) => p.id);
}

/** The i-th order: one unit of one of `products` in turn, with its own Idempotency-Key. */
export function orderRequest(token: string, products: string[], i: number): LabRequest {
  return {
    method: 'POST',
    path: '/api/orders',
    headers: { authorization: `Bearer ${token}`, 'idempotency-key': randomUUID() },
    body: { items: [{ productId: products[i % products.length]!, quantity: 1 }] },
  };
}

/** Places the i-th order (see orderRequest) and reads its answer. */
export const placeOrder = (mesh: LabMesh, token: string, products: string[], i: number) => call(mesh, orderRequest(token, products, i));

/** The error-rate breakers of every proxy: 0 when all are closed, else 1 (open) or 2 (half-open). */
async function breakers(mesh: LabMesh): Promise<number> {
  let state = 0;
  for (const samples of (await mesh.scrape()).values())
    for (const s of samples) if (s.name === 'mesh_circuit_breaker_state') state = Math.max(state, s.value);
  return state;
}

/**
 * Orders that keep failing open circuit breakers on their way (the gateway's on order-service, order-service's
 * on payment-service), and each stays open for its sleepWindow: a check right after a fix would measure the
 * breaker, not the fix. Waits until every breaker is closed, sending one order at a time (a half-open
 * breaker's probe), for at most `maxMs`.
 */
export async function orderPathClosed(mesh: LabMesh, next: () => LabRequest, maxMs = 8_000): Promise<boolean> {
  const until = Date.now() + maxMs;
  if ((await breakers(mesh)) === 0) return true;
  mesh.progress('a circuit breaker on the way of orders is open (orders kept failing): waiting for it to close');
  while (Date.now() < until) {
    const r = next();
    await request(`${mesh.gatewayUrl}${r.path}`, {
      method: r.method ?? 'GET',
      headers: { 'content-type': 'application/json', ...r.headers },
      body: JSON.stringify(r.body),
      headersTimeout: 15_000,
    }).then(
      (res) => res.body.dump(),
      () => undefined,
    );
    if ((await breakers(mesh)) === 0) return true;
    await new Promise((r) => setTimeout(r, 500));
  }
  return false;
}

/**
 * Orders at a steady `rate` for `seconds` (a steady rate rather than callers back to back: orders failing
 * fast do not flood the machine), once every breaker on their way is closed, with the proxies' counters
 * read just before and just after.
 */
export async function placeOrders(mesh: LabMesh, opts: { seconds: number; rate: number }) {
  const token = await shopperToken(mesh);
  const products = await stockedProducts(mesh);
  let n = 0;
  await orderPathClosed(mesh, () => orderRequest(token, products, n++));
  const before = await mesh.scrape();
  const traffic = await mesh.traffic({
    seconds: opts.seconds,
    rate: opts.rate,
    label: 'placing orders through the gateway',
    next: (i) => orderRequest(token, products, n + i),
  });
  return { traffic, before, after: await mesh.scrape() };
}
