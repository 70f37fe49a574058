// The Idempotency-Key makes a charge safe to retry: one key, one charge, whether retried or raced.
import { makeTempDir } from '@meshcart/testing';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from './app';

describe('idempotent charges', () => {
  let dir: ReturnType<typeof makeTempDir>;
  let app: Awaited<ReturnType<typeof buildApp>>;

  beforeEach(async () => {
    dir = makeTempDir();
    app = await buildApp({ dataDir: dir.path, logger: false, processor: { latencyMs: 50, declineRate: 0 } });
  });
  afterEach(async () => {
    await app.close();
    dir.remove();
  });

  const charge = (payload: object, key: string) => app.inject({ method: 'POST', url: '/charges', headers: { 'idempotency-key': key }, payload });

  /** Counts rows in the file itself, including any still 'processing', which the API does not list. */
  function chargeRows(): number {
    const db = new Database(join(dir.path, 'payment-service.db'), { readonly: true });
    try {
      return (db.prepare('SELECT count(*) AS n FROM charges').get() as { n: number }).n;
    } finally {
      db.close();
    }
  }

  it('replays the first result for the same key sent twice, without charging again', async () => {
    const first = await charge({ orderId: 'o-1', amountCents: 2500 }, 'order-o-1');
    const second = await charge({ orderId: 'o-1', amountCents: 2500 }, 'order-o-1');
    expect(first.statusCode).toBe(201);
    expect(second.statusCode).toBe(201);
    expect(second.headers['idempotent-replayed']).toBe('true');
    expect(second.json()).toEqual(first.json());
    expect(chargeRows()).toBe(1);
  });

  it('charges once when the same key arrives twice at the same time', async () => {
    const [a, b] = await Promise.all([
      charge({ orderId: 'o-2', amountCents: 700 }, 'order-o-2'),
      charge({ orderId: 'o-2', amountCents: 700 }, 'order-o-2'),
    ]);
    const statuses = [a.statusCode, b.statusCode].sort();
    expect(statuses).toEqual([201, 409]);
    const winner = a.statusCode === 201 ? a : b;
    const loser = a.statusCode === 201 ? b : a;
    expect(loser.json().error.code).toBe('CHARGE_IN_PROGRESS');
    expect(loser.headers['retry-after']).toBe('1');

    // The loser retries as Retry-After says and gets the winner's charge.
    const retried = await charge({ orderId: 'o-2', amountCents: 700 }, 'order-o-2');
    expect(retried.statusCode).toBe(201);
    expect(retried.json().id).toBe(winner.json().id);
    expect(chargeRows()).toBe(1);
    expect((await app.inject({ url: '/charges?orderId=o-2' })).json().items).toHaveLength(1);
  });

  it('charges once when many requests race with one key', async () => {
    const answers = await Promise.all(Array.from({ length: 8 }, () => charge({ orderId: 'o-3', amountCents: 900 }, 'order-o-3')));
    expect(answers.filter((r) => r.statusCode === 201)).toHaveLength(1);
    expect(answers.filter((r) => r.statusCode === 409)).toHaveLength(7);
    expect(chargeRows()).toBe(1);
  });

  it('replays a decline as 402 again', async () => {
    const declining = makeTempDir();
    const strict = await buildApp({ dataDir: declining.path, logger: false, processor: { latencyMs: 0, declineRate: 1 } });
    try {
      const send = () =>
        strict.inject({ method: 'POST', url: '/charges', headers: { 'idempotency-key': 'k' }, payload: { orderId: 'o-4', amountCents: 100 } });
      const first = await send();
      const again = await send();
      expect(first.statusCode).toBe(402);
      expect(again.statusCode).toBe(402);
      expect(again.headers['idempotent-replayed']).toBe('true');
      expect(again.json()).toEqual(first.json());
    } finally {
      await strict.close();
      declining.remove();
    }
  });

  it('refuses the same key for a different amount with 422 IDEMPOTENCY_KEY_REUSED', async () => {
    expect((await charge({ orderId: 'o-5', amountCents: 1000 }, 'order-o-5')).statusCode).toBe(201);
    const res = await charge({ orderId: 'o-5', amountCents: 1001 }, 'order-o-5');
    expect(res.statusCode).toBe(422);
    expect(res.json().error.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect(chargeRows()).toBe(1);
  });

  it('refuses the same key for a different order', async () => {
    await charge({ orderId: 'o-6', amountCents: 1000 }, 'shared-key');
    expect((await charge({ orderId: 'o-7', amountCents: 1000 }, 'shared-key')).statusCode).toBe(422);
  });

  it('treats an explicit USD like the default currency', async () => {
    const first = await charge({ orderId: 'o-8', amountCents: 100 }, 'order-o-8');
    const explicit = await charge({ orderId: 'o-8', amountCents: 100, currency: 'USD' }, 'order-o-8');
    expect(explicit.statusCode).toBe(201);
    expect(explicit.json().id).toBe(first.json().id);
  });

  it('charges again under a new key: the key, not the order, identifies the attempt', async () => {
    const a = await charge({ orderId: 'o-9', amountCents: 100 }, 'attempt-1');
    const b = await charge({ orderId: 'o-9', amountCents: 100 }, 'attempt-2');
    expect(b.statusCode).toBe(201);
    expect(b.json().id).not.toBe(a.json().id);
    expect(chargeRows()).toBe(2);
  });
});
