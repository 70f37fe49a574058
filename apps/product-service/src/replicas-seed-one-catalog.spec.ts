// Two replicas starting together on one database file seed the catalog once, without errors.
import { makeTempDir } from '@meshcart/testing';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { buildApp } from './app';
import { sampleCatalog } from './sample-catalog';

let dir: ReturnType<typeof makeTempDir>;
beforeEach(() => {
  dir = makeTempDir();
});
afterEach(() => dir.remove());

it('seeds each product exactly once when two instances start on the same file', async () => {
  const [a, b] = await Promise.all([buildApp({ dataDir: dir.path, logger: false }), buildApp({ dataDir: dir.path, logger: false })]);
  try {
    const totals = await Promise.all([a, b].map(async (app) => (await app.inject({ url: '/products?pageSize=100' })).json().total));
    expect(totals).toEqual([sampleCatalog().length, sampleCatalog().length]);

    const db = new Database(join(dir.path, 'product-service.db'), { readonly: true });
    const { rows, ids } = db.prepare('SELECT count(*) AS rows, count(DISTINCT id) AS ids FROM products').get() as { rows: number; ids: number };
    db.close();
    expect(rows).toBe(sampleCatalog().length);
    expect(ids).toBe(rows);

    // A reservation through one replica is visible through the other: they share one source of truth.
    await a.inject({ method: 'POST', url: '/reservations', payload: { orderId: 'o-shared', items: [{ productId: 'p-010', quantity: 4 }] } });
    expect((await b.inject({ url: '/products/p-010' })).json().stock).toBe(sampleCatalog()[9]!.stock - 4);
  } finally {
    await Promise.all([a.close(), b.close()]);
  }
});
