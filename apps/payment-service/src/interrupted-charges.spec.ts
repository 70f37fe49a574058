// Charges a crashed process left 'processing' are resolved at startup, but only once surely abandoned.
import { makeTempDir } from '@meshcart/testing';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { buildApp } from './app';

const processor = { latencyMs: 0, declineRate: 0 };
let dir: ReturnType<typeof makeTempDir>;

beforeEach(() => {
  dir = makeTempDir();
});
afterEach(() => dir.remove());

/** Leaves rows as a process that died between claiming the key and hearing from the processor would. */
function leaveProcessingRows(rows: { id: string; key: string; ageMs: number }[]): void {
  const db = new Database(join(dir.path, 'payment-service.db'));
  const insert = db.prepare(
    `INSERT INTO charges (id, order_id, amount_cents, currency, idempotency_key, request_hash, status, created_at)
     VALUES (?, 'o-crash', 100, 'USD', ?, 'hash', 'processing', ?)`,
  );
  for (const r of rows) insert.run(r.id, r.key, new Date(Date.now() - r.ageMs).toISOString());
  db.close();
}

it('marks processing charges older than a minute as declined with processor_interrupted', async () => {
  const first = await buildApp({ dataDir: dir.path, logger: false, processor });
  await first.close();
  leaveProcessingRows([
    { id: 'ch_stale', key: 'k-stale', ageMs: 120_000 },
    { id: 'ch_fresh', key: 'k-fresh', ageMs: 1_000 },
  ]);

  const app = await buildApp({ dataDir: dir.path, logger: false, processor });
  try {
    const stale = await app.inject({ url: '/charges/ch_stale' });
    expect(stale.statusCode).toBe(200);
    expect(stale.json()).toMatchObject({ status: 'declined', declineReason: 'processor_interrupted' });

    // A young row may belong to a replica still waiting on the processor: it is left alone.
    const fresh = await app.inject({ url: '/charges/ch_fresh' });
    expect(fresh.statusCode).toBe(409);
    expect(fresh.json().error.code).toBe('CHARGE_IN_PROGRESS');
    expect(fresh.headers['retry-after']).toBe('1');
    expect((await app.inject({ url: '/charges?orderId=o-crash' })).json().items.map((c: { id: string }) => c.id)).toEqual(['ch_stale']);
    expect((await app.inject({ method: 'POST', url: '/charges/ch_fresh/refund' })).statusCode).toBe(409);
  } finally {
    await app.close();
  }
});
