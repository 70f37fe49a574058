// What the container tests do to the shop and the mesh from outside: HTTP calls through the
// published gateway, metrics read inside a container, and how often to poll while waiting for a condition.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { parsePrometheusText, samplesOf } from '@meshcart/prometheus-text';
import { request } from 'undici';

export const run = promisify(execFile);

export async function call<T = unknown>(url: string, init: { method?: string; body?: unknown; headers?: Record<string, string> } = {}) {
  const started = performance.now();
  const res = await request(url, {
    method: (init.method ?? 'GET') as 'GET',
    headers: { ...(init.body !== undefined ? { 'content-type': 'application/json' } : {}), ...init.headers },
    body: init.body !== undefined ? JSON.stringify(init.body) : undefined,
    headersTimeout: 60_000,
    bodyTimeout: 60_000,
  });
  const text = await res.body.text();
  let body: T;
  try {
    body = JSON.parse(text) as T;
  } catch {
    body = text as T;
  }
  return { status: res.statusCode, body, ms: performance.now() - started };
}

/** Options for vi.waitFor and expect.poll: a probe every half second, since each probe here is an HTTP call or a `docker exec`. */
export const polling = (timeoutMs: number) => ({ timeout: timeoutMs, interval: 500 });

/** A registered, logged-in shopper. */
export async function shopper(gateway: string, email: string): Promise<{ token: string }> {
  const reg = await call(`${gateway}/api/users`, { method: 'POST', body: { email, password: 'correct horse', name: 'Container Test' } });
  if (reg.status !== 201) throw new Error(`register → ${reg.status} ${JSON.stringify(reg.body)}`);
  const session = await call<{ token: string }>(`${gateway}/api/sessions`, { method: 'POST', body: { email, password: 'correct horse' } });
  if (session.status !== 200) throw new Error(`log in → ${session.status} ${JSON.stringify(session.body)}`);
  return session.body;
}

export function placeOrder(gateway: string, token: string, key: string, productId = 'p-002', quantity = 1) {
  return call<{ id?: string; status?: string; code?: string; message?: string }>(`${gateway}/api/orders`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'idempotency-key': key },
    body: { items: [{ productId, quantity }] },
  });
}

export async function stockOf(gateway: string, productId: string): Promise<number> {
  const res = await call<{ stock: number }>(`${gateway}/api/products/${productId}`);
  if (res.status !== 200) throw new Error(`product ${productId} → ${res.status}`);
  return res.body.stock;
}

/** A proxy's /metrics, read from inside its container (its admin port is not published). */
export async function metricsIn(container: string, port = 15000): Promise<string> {
  const script = `fetch('http://127.0.0.1:${port}/metrics').then((r) => r.text()).then((t) => process.stdout.write(t))`;
  const { stdout } = await run('docker', ['exec', container, 'node', '-e', script], { maxBuffer: 16 << 20 });
  return stdout;
}

/** Sum of a metric's samples whose labels include all of `labels`. */
export function sample(metrics: string, name: string, labels: Record<string, string>): number {
  return samplesOf(parsePrometheusText(metrics), name, labels).reduce((sum, s) => sum + s.value, 0);
}
