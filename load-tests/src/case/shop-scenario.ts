// The shop's traffic for the case: users registered up front, then browse 60%, product detail 25%, place order 10%, order history 5%.
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import type { Send } from '../lib';

export const MIX = [
  { name: 'browse', weight: 0.6 },
  { name: 'detail', weight: 0.25 },
  { name: 'order', weight: 0.1 },
  { name: 'history', weight: 0.05 },
] as const;
export type Action = (typeof MIX)[number]['name'];

/**
 * Which action the i-th request is. A fixed, repeating 20-slot pattern (12 browse, 5 detail, 2 order,
 * 1 history) rather than random draws: every run and every profile gets exactly the same mix, so the
 * profiles are compared on the same work.
 */
const PATTERN: Action[] = (() => {
  const slots: Action[] = [];
  for (const { name, weight } of MIX) for (let k = 0; k < Math.round(weight * 20); k++) slots.push(name);
  // Interleave so orders are spread through the pattern, not bunched at its end.
  return slots
    .map((a, i) => ({ a, key: (i * 7) % slots.length }))
    .sort((x, y) => x.key - y.key)
    .map((x) => x.a);
})();

export function actionFor(i: number): Action {
  return PATTERN[i % PATTERN.length]!;
}

export interface Shopper {
  token: string;
}

export interface ShopScenarioOptions {
  gatewayUrl: string;
  users: number;
  /** Product ids to order and view (from the seeded catalog). */
  products?: number;
  /** Keep-alive connections from the generator to the gateway. */
  connections?: number;
}

export class ShopScenario {
  private readonly shoppers: Shopper[] = [];
  private readonly productIds: string[] = [];
  private readonly agent: Agent;
  private run = 0;

  constructor(private readonly opts: ShopScenarioOptions) {
    // The generator is a browser population: keep-alive connections to the public gateway.
    this.agent = new Agent({ connections: opts.connections ?? 256, pipelining: 1, keepAliveTimeout: 30_000 });
  }

  /** Registers and logs in the users, and reads the catalog's first page of ids. */
  async setUp(runId: string): Promise<void> {
    const g = this.opts.gatewayUrl;
    const list = await this.json<{ items: { id: string }[] }>('GET', `${g}/api/products?page=1&pageSize=${this.opts.products ?? 50}`);
    this.productIds.push(...list.items.map((p) => p.id));
    if (this.productIds.length === 0) throw new Error('the catalog is empty: product-service must seed its sample catalog');
    for (let u = 0; u < this.opts.users; u++) {
      const email = `bench-${runId}-${u}@example.com`;
      await this.json('POST', `${g}/api/users`, { email, password: 'bench password', name: `Bench ${u}` }, 201);
      const session = await this.json<{ token: string }>('POST', `${g}/api/sessions`, { email, password: 'bench password' });
      this.shoppers.push({ token: session.token });
    }
  }

  /** A `Send` for the load generator: request i does actionFor(i), as some user. */
  sender(): Send {
    const g = this.opts.gatewayUrl;
    const run = ++this.run;
    return async (i) => {
      const shopper = this.shoppers[i % this.shoppers.length]!;
      const product = this.productIds[(i * 31) % this.productIds.length]!;
      switch (actionFor(i)) {
        case 'browse':
          return this.call('GET', `${g}/api/products?page=${(i % 3) + 1}`);
        case 'detail':
          return this.call('GET', `${g}/api/products/${product}`);
        case 'history':
          return this.call('GET', `${g}/api/orders`, undefined, { authorization: `Bearer ${shopper.token}` });
        case 'order':
          return this.call(
            'POST',
            `${g}/api/orders`,
            { items: [{ productId: product, quantity: 1 }] },
            {
              authorization: `Bearer ${shopper.token}`,
              'idempotency-key': `bench-${process.pid}-${run}-${i}`,
            },
            201,
          );
      }
    };
  }

  async close(): Promise<void> {
    await this.agent.close();
  }

  private async call(method: 'GET' | 'POST', url: string, body?: unknown, headers: Record<string, string> = {}, expected = 200): Promise<void> {
    const res = await request(url, {
      method,
      dispatcher: this.agent,
      headers: body === undefined ? headers : { ...headers, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.statusCode !== expected) {
      const text = await res.body.text();
      throw new Error(`${method} ${new URL(url).pathname} → ${res.statusCode} ${text.slice(0, 200)}`);
    }
    await res.body.dump();
  }

  private async json<T>(method: 'GET' | 'POST', url: string, body?: unknown, expected = 200): Promise<T> {
    const res = await request(url, {
      method,
      dispatcher: this.agent,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.body.text();
    if (res.statusCode !== expected) throw new Error(`${method} ${new URL(url).pathname} → ${res.statusCode} ${text.slice(0, 200)}`);
    return JSON.parse(text) as T;
  }
}

/**
 * Tops up every product's stock in product-service's own database, so orders never fail for stock
 * however long the benchmark runs (a sold-out product would end the saga early and change the mix
 * of calls being measured). SQLite's locking makes this safe beside the running service.
 */
export function restock(dataDir: string, stock = 1_000_000): void {
  const db = new Database(join(dataDir, 'product-service.db'));
  try {
    db.pragma('busy_timeout = 5000');
    db.prepare('UPDATE products SET stock = ?').run(stock);
  } finally {
    db.close();
  }
}
