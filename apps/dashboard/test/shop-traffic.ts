// Shop traffic through the gateway for the browser test: a steady trickle of browse, detail and order calls, so every edge of the graph carries some.
import { request } from 'undici';

export interface ShopTraffic {
  stop(): Promise<void>;
  sent(): number;
}

async function json(url: string, init: { method?: 'GET' | 'POST'; body?: unknown; headers?: Record<string, string> } = {}) {
  const res = await request(url, {
    method: init.method ?? 'GET',
    headers: { 'content-type': 'application/json', ...init.headers },
    ...(init.body ? { body: JSON.stringify(init.body) } : {}),
  });
  return { status: res.statusCode, body: (await res.body.json().catch(() => undefined)) as Record<string, unknown> | undefined };
}

/** `workers` loops, each waiting `pauseMs` between calls: about workers × 1000 / (pauseMs + call time) requests per second. */
export async function startShopTraffic(gatewayUrl: string, workers = 4, pauseMs = 40): Promise<ShopTraffic> {
  const email = `dash-${Date.now()}@example.com`;
  const created = await json(`${gatewayUrl}/api/users`, { method: 'POST', body: { email, password: 'correct horse', name: 'Dash' } });
  if (created.status !== 201) throw new Error(`could not create the shopper: ${created.status} ${JSON.stringify(created.body)}`);
  const session = await json(`${gatewayUrl}/api/sessions`, { method: 'POST', body: { email, password: 'correct horse' } });
  const token = String(session.body?.['token']);
  let running = true;
  let sent = 0;
  let orders = 0;
  // Orders go round the whole catalog (p-001 … p-072, stock 20–200 each): no product runs out during a test, so payment-service keeps being called.
  const nextProduct = () => `p-${String((orders++ % 72) + 1).padStart(3, '0')}`;
  const loop = async (w: number) => {
    for (let i = 0; running; i++) {
      // Mostly browsing; every fifth call of each loop places an order (order → user, product, payment).
      const call =
        i % 5 === 4
          ? json(`${gatewayUrl}/api/orders`, {
              method: 'POST',
              headers: { authorization: `Bearer ${token}`, 'idempotency-key': `dash-${w}-${i}-${Date.now()}` },
              body: { items: [{ productId: nextProduct(), quantity: 1 }] },
            })
          : i % 2 === 0
            ? json(`${gatewayUrl}/api/products?page=1`)
            : json(`${gatewayUrl}/api/products/p-00${(i % 3) + 1}`);
      await call.catch(() => undefined);
      sent++;
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  };
  const loops = Array.from({ length: workers }, (_, w) => loop(w));
  return {
    sent: () => sent,
    stop: async () => {
      running = false;
      await Promise.all(loops);
    },
  };
}
