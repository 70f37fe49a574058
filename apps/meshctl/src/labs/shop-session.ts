// A shopper for labs that place orders: one account per started lab (kept in its notes), a fresh session token, orders through the gateway.
import { randomBytes } from 'node:crypto';
import { request } from 'undici';
import type { LabMesh } from './lab-mesh';
import type { LabRequest } from './traffic';

interface Shopper {
  email: string;
  password: string;
  token?: string;
}

export interface ShopAnswer {
  status: number;
  /** `error.code` of an error answer (`MESH_ERR_CIRCUIT_OPEN`, …), or an order's failure `reason`. */
  code?: string;
  ms: number;
}

async function call(mesh: LabMesh, r: LabRequest): Promise<ShopAnswer & { body: unknown }> {
  const t0 = performance.now();
  const res = await request(`${mesh.gatewayUrl}${r.path}`, {
    method: r.method ?? 'GET',
    headers: { ...(r.body !== undefined ? { 'content-type': 'application/json' } : {}), ...r.headers },
    body: r.body !== undefined ? JSON.stringify(r.body) : undefined,
    headersTimeout: 15_000,
    bodyTimeout: 15_000,
  });
  const text = await res.body.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  const b = body as { error?: { code?: string }; reason?: string } | undefined;
  const code = b?.error?.code ?? b?.reason;
  return { status: res.statusCode, ...(code ? { code } : {}), ms: performance.now() - t0, body };
}

/**
 * A session token for the lab's shopper: registered on first use (remembered in the lab's notes), then
 * logged in afresh each time, since tokens expire. `notesKey` keeps one shopper per purpose.
 */
export async function shopperToken(mesh: LabMesh, notesKey = 'shopper'): Promise<string> {
  let shopper = mesh.notes[notesKey] as Shopper | undefined;
  const register = async (s: Shopper) => {
    const res = await call(mesh, { method: 'POST', path: '/api/users', body: { email: s.email, password: s.password, name: 'Lab Shopper' } });
    if (res.status !== 201 && res.status !== 409)
      throw new Error(`could not register a shopper through the gateway: POST /api/users answered ${res.status}`);
  };
  if (!shopper) {
    const id = randomBytes(6).toString('hex');
    shopper = { email: `lab-shopper-${id}@example.com`, password: randomBytes(12).toString('base64url') };
    await register(shopper);
    mesh.notes[notesKey] = shopper;
  }
  const login = () => call(mesh, { method: 'POST', path: '/api/sessions', body: { email: shopper.email, password: shopper.password } });
  let res = await login();
  // A data folder wiped since the lab started: the account is gone, so make it again.
  if (res.status === 401) {
    await register(shopper);
    res = await login();
  }
  const token = (res.body as { token?: unknown } | undefined)?.token;
  if (res.status !== 200 || typeof token !== 'string')
    throw new Error(`could not log the lab's shopper in: POST /api/sessions answered ${res.status}`);
  shopper.token = token;
  return token;
}

/** One order of one item, with its own Idempotency-Key (a retry of the same request is charged once). */
export function orderRequest(token: string, idempotencyKey: string, productId = 'p-004'): LabRequest {
  return {
    method: 'POST',
    path: '/api/orders',
    headers: { authorization: `Bearer ${token}`, 'idempotency-key': idempotencyKey },
    body: { items: [{ productId, quantity: 1 }] },
  };
}

export async function placeOrder(mesh: LabMesh, token: string, idempotencyKey: string): Promise<ShopAnswer> {
  const { status, code, ms } = await call(mesh, orderRequest(token, idempotencyKey));
  return { status, ...(code ? { code } : {}), ms };
}
