// Stock reservations per order: reserve, release, commit, all-or-nothing and idempotent.
import { makeTempDir } from '@meshcart/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from './app';
import { sampleCatalog } from './sample-catalog';

const initialStock = (id: string) => sampleCatalog().find((p) => p.id === id)!.stock;
const price = (id: string) => sampleCatalog().find((p) => p.id === id)!.priceCents;

describe('reservations', () => {
  let dir: ReturnType<typeof makeTempDir>;
  let app: Awaited<ReturnType<typeof buildApp>>;

  beforeEach(async () => {
    dir = makeTempDir();
    app = await buildApp({ dataDir: dir.path, logger: false });
  });
  afterEach(async () => {
    await app.close();
    dir.remove();
  });

  const reserve = (payload: unknown) => app.inject({ method: 'POST', url: '/reservations', payload: payload as object });
  const release = (orderId: string) => app.inject({ method: 'POST', url: `/reservations/${orderId}/release` });
  const commit = (orderId: string) => app.inject({ method: 'POST', url: `/reservations/${orderId}/commit` });
  const stock = async (id: string) => (await app.inject({ url: `/products/${id}` })).json().stock as number;

  it('decrements stock and records each item at its current price', async () => {
    const res = await reserve({
      orderId: 'o-1',
      items: [
        { productId: 'p-001', quantity: 2 },
        { productId: 'p-005', quantity: 1 },
      ],
    });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toEqual({
      orderId: 'o-1',
      state: 'reserved',
      items: [
        { productId: 'p-001', quantity: 2, priceCents: price('p-001') },
        { productId: 'p-005', quantity: 1, priceCents: price('p-005') },
      ],
      totalCents: 2 * price('p-001') + price('p-005'),
    });
    expect(await stock('p-001')).toBe(initialStock('p-001') - 2);
    expect(await stock('p-005')).toBe(initialStock('p-005') - 1);
    expect((await app.inject({ url: '/reservations/o-1' })).json()).toEqual(res.json());
  });

  it('sums duplicate products in one request', async () => {
    const res = await reserve({
      orderId: 'o-dup',
      items: [
        { productId: 'p-003', quantity: 2 },
        { productId: 'p-003', quantity: 5 },
      ],
    });
    expect(res.statusCode).toBe(201);
    expect(res.json().items).toEqual([{ productId: 'p-003', quantity: 7, priceCents: price('p-003') }]);
    expect(await stock('p-003')).toBe(initialStock('p-003') - 7);
  });

  it('answers a repeated orderId with the existing reservation, 200, changing nothing', async () => {
    const first = await reserve({ orderId: 'o-again', items: [{ productId: 'p-001', quantity: 2 }] });
    const again = await reserve({ orderId: 'o-again', items: [{ productId: 'p-001', quantity: 2 }] });
    const different = await reserve({ orderId: 'o-again', items: [{ productId: 'p-002', quantity: 9 }] });
    expect(again.statusCode).toBe(200);
    expect(again.json()).toEqual(first.json());
    expect(different.json()).toEqual(first.json());
    expect(await stock('p-001')).toBe(initialStock('p-001') - 2);
    expect(await stock('p-002')).toBe(initialStock('p-002'));
  });

  it('refuses more than the stock with 409 INSUFFICIENT_STOCK and changes nothing', async () => {
    const available = initialStock('p-004');
    const res = await reserve({
      orderId: 'o-big',
      items: [
        { productId: 'p-001', quantity: 1 },
        { productId: 'p-004', quantity: available + 1 },
      ],
    });
    expect(res.statusCode).toBe(409);
    const { error } = res.json();
    expect(error.code).toBe('INSUFFICIENT_STOCK');
    expect(error.message).toContain('p-004');
    expect(error.message).toContain(`requested ${available + 1}`);
    expect(error.message).toContain(`available ${available}`);
    expect(error.details).toEqual([{ path: '/items/1/quantity', in: 'body', message: `requested ${available + 1}, available ${available}` }]);
    expect(await stock('p-001')).toBe(initialStock('p-001'));
    expect(await stock('p-004')).toBe(available);
    expect((await app.inject({ url: '/reservations/o-big' })).statusCode).toBe(404);
  });

  it('counts summed duplicates against the stock', async () => {
    const half = Math.ceil(initialStock('p-006') / 2) + 1;
    const res = await reserve({
      orderId: 'o-sum',
      items: [
        { productId: 'p-006', quantity: half },
        { productId: 'p-006', quantity: half },
      ],
    });
    expect(res.statusCode).toBe(409);
    expect(await stock('p-006')).toBe(initialStock('p-006'));
  });

  it('sells the last unit and then refuses the next', async () => {
    const all = initialStock('p-007');
    expect((await reserve({ orderId: 'o-all', items: [{ productId: 'p-007', quantity: all }] })).statusCode).toBe(201);
    expect(await stock('p-007')).toBe(0);
    const next = await reserve({ orderId: 'o-next', items: [{ productId: 'p-007', quantity: 1 }] });
    expect(next.statusCode).toBe(409);
    expect(next.json().error.message).toContain('available 0');
  });

  it('refuses an unknown product with 422 UNKNOWN_PRODUCT naming it, and changes nothing', async () => {
    const res = await reserve({
      orderId: 'o-unknown',
      items: [
        { productId: 'p-001', quantity: 1 },
        { productId: 'p-999', quantity: 1 },
      ],
    });
    expect(res.statusCode).toBe(422);
    expect(res.json().error.code).toBe('UNKNOWN_PRODUCT');
    expect(res.json().error.message).toContain('p-999');
    expect(res.json().error.details).toContainEqual(expect.objectContaining({ path: '/items/1/productId' }));
    expect(await stock('p-001')).toBe(initialStock('p-001'));
    expect((await app.inject({ url: '/reservations/o-unknown' })).statusCode).toBe(404);
  });

  it('returns the stock on release exactly once', async () => {
    await reserve({ orderId: 'o-rel', items: [{ productId: 'p-008', quantity: 4 }] });
    const first = await release('o-rel');
    expect(first.statusCode).toBe(200);
    expect(first.json().state).toBe('released');
    expect(await stock('p-008')).toBe(initialStock('p-008'));
    const second = await release('o-rel');
    expect(second.statusCode).toBe(200);
    expect(second.json().state).toBe('released');
    expect(await stock('p-008')).toBe(initialStock('p-008'));
  });

  it('keeps stock decremented on commit, idempotently', async () => {
    await reserve({ orderId: 'o-com', items: [{ productId: 'p-009', quantity: 3 }] });
    const first = await commit('o-com');
    expect(first.statusCode).toBe(200);
    expect(first.json().state).toBe('committed');
    expect((await commit('o-com')).json().state).toBe('committed');
    expect(await stock('p-009')).toBe(initialStock('p-009') - 3);
    expect((await app.inject({ url: '/reservations/o-com' })).json().state).toBe('committed');
  });

  it('refuses to release a committed reservation with 409 RESERVATION_COMMITTED', async () => {
    await reserve({ orderId: 'o-c', items: [{ productId: 'p-009', quantity: 1 }] });
    await commit('o-c');
    const res = await release('o-c');
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe('RESERVATION_COMMITTED');
    expect(await stock('p-009')).toBe(initialStock('p-009') - 1);
  });

  it('refuses to commit a released reservation with 409 RESERVATION_RELEASED', async () => {
    await reserve({ orderId: 'o-r', items: [{ productId: 'p-009', quantity: 1 }] });
    await release('o-r');
    const res = await commit('o-r');
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe('RESERVATION_RELEASED');
  });

  it('answers 404 RESERVATION_NOT_FOUND for an unknown order', async () => {
    for (const res of [await release('o-none'), await commit('o-none'), await app.inject({ url: '/reservations/o-none' })]) {
      expect(res.statusCode).toBe(404);
      expect(res.json().error.code).toBe('RESERVATION_NOT_FOUND');
    }
  });

  it('rejects invalid JSON with 400 INVALID_JSON', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/reservations',
      headers: { 'content-type': 'application/json' },
      payload: '{"orderId": "o-1",',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('INVALID_JSON');
  });

  it('names missing and wrong-typed fields', async () => {
    const missing = await reserve({ orderId: 'o-1' });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().error.details).toContainEqual(expect.objectContaining({ path: '/items' }));

    const wrongType = await reserve({ orderId: 'o-1', items: [{ productId: 'p-001', quantity: 'lots' }] });
    expect(wrongType.statusCode).toBe(400);
    expect(wrongType.json().error.details).toContainEqual(expect.objectContaining({ path: '/items/0/quantity' }));

    const zero = await reserve({ orderId: 'o-1', items: [{ productId: 'p-001', quantity: 0 }] });
    expect(zero.statusCode).toBe(400);
    expect(zero.json().error.message).toContain('body/items/0/quantity');

    const empty = await reserve({ orderId: 'o-1', items: [] });
    expect(empty.statusCode).toBe(400);
    expect(await stock('p-001')).toBe(initialStock('p-001'));
  });
});
