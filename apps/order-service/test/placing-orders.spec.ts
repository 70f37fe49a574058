// Placing orders end to end against real user, product and payment processes: outcomes, idempotency, auth and validation.
import { IDEMPOTENT_REPLAY_HEADER, type Order } from '@meshcart/contracts';
import type { ServiceApp } from '@meshcart/service-kit';
import { makeTempDir } from '@meshcart/testing';
import Database from 'better-sqlite3';
import { SignJWT, generateKeyPair } from 'jose';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app';
import { chargesFor, directMesh, productPrice, signUp, startShopService, stockOf, type ShopService } from './shop-services';

let users: ShopService;
let products: ShopService;
let payments: ShopService;
let orderData: ReturnType<typeof makeTempDir>;
let app: ServiceApp;
let shopper: { authorization: string; userId: string };

beforeAll(async () => {
  [users, products, payments] = await Promise.all([
    startShopService('user-service'),
    startShopService('product-service'),
    startShopService('payment-service'),
  ]);
  orderData = makeTempDir('order-service-');
  app = await buildApp({
    dataDir: orderData.path,
    mesh: directMesh({ 'user-service': users, 'product-service': products, 'payment-service': payments }),
    logger: false,
  });
  shopper = await signUp(users);
});

afterAll(async () => {
  await app?.close();
  await Promise.all([users?.dispose(), products?.dispose(), payments?.dispose()]);
  orderData?.remove();
});

function placeOrder(items: unknown, headers: Record<string, string> = {}, authorization = shopper.authorization) {
  return app.inject({ method: 'POST', url: '/orders', headers: { authorization, ...headers }, payload: { items } });
}

describe('POST /orders', () => {
  it('confirms an order: stock goes down by the quantity and the order is charged exactly once', async () => {
    const before = await stockOf(products, 'p-001');
    const price = await productPrice(products, 'p-001');

    const res = await placeOrder([{ productId: 'p-001', quantity: 2 }]);

    expect(res.statusCode).toBe(201);
    const order = res.json<Order>();
    expect(order).toMatchObject({
      userId: shopper.userId,
      status: 'confirmed',
      totalCents: 2 * price,
      items: [{ productId: 'p-001', quantity: 2, priceCents: price }],
    });
    expect(order.id).toMatch(/^ord_/);
    expect(order.chargeId).toBeTruthy();
    expect(res.headers[IDEMPOTENT_REPLAY_HEADER]).toBeUndefined();
    expect(await stockOf(products, 'p-001')).toBe(before - 2);
    const charges = await chargesFor(payments, order.id);
    expect(charges).toHaveLength(1);
    expect(charges[0]).toMatchObject({ id: order.chargeId, amountCents: 2 * price, status: 'succeeded' });
  });

  it('fails with 409 insufficient_stock, charges nothing and leaves stock as it was', async () => {
    const before = await stockOf(products, 'p-002');
    const res = await placeOrder([
      { productId: 'p-003', quantity: 1 },
      { productId: 'p-002', quantity: 1000 },
    ]);
    expect(res.statusCode).toBe(409);
    const order = res.json<Order>();
    expect(order).toMatchObject({ status: 'failed', reason: 'insufficient_stock' });
    expect(order.detail).toMatch(/p-002/);
    expect(order.chargeId).toBeUndefined();
    expect(await chargesFor(payments, order.id)).toEqual([]);
    expect(await stockOf(products, 'p-002')).toBe(before);
  });

  it('fails with 422 unknown_product for a product that does not exist', async () => {
    const res = await placeOrder([{ productId: 'p-999', quantity: 1 }]);
    expect(res.statusCode).toBe(422);
    expect(res.json<Order>()).toMatchObject({ status: 'failed', reason: 'unknown_product' });
    expect(await chargesFor(payments, res.json<Order>().id)).toEqual([]);
  });

  it('answers a repeated Idempotency-Key with the same order and status, charging once', async () => {
    const headers = { 'idempotency-key': 'checkout-1' };
    const before = await stockOf(products, 'p-004');
    const first = await placeOrder([{ productId: 'p-004', quantity: 1 }], headers);
    const second = await placeOrder([{ productId: 'p-004', quantity: 1 }], headers);

    expect(first.statusCode).toBe(201);
    expect(second.statusCode).toBe(201);
    expect(second.headers[IDEMPOTENT_REPLAY_HEADER]).toBe('true');
    expect(second.json<Order>()).toEqual(first.json<Order>());
    expect(await chargesFor(payments, first.json<Order>().id)).toHaveLength(1);
    expect(await stockOf(products, 'p-004')).toBe(before - 1);
  });

  it('replays a failure with its original status code', async () => {
    const headers = { 'idempotency-key': 'too-many' };
    const first = await placeOrder([{ productId: 'p-005', quantity: 1000 }], headers);
    const again = await placeOrder([{ productId: 'p-005', quantity: 1000 }], headers);
    expect(first.statusCode).toBe(409);
    expect(again.statusCode).toBe(409);
    expect(again.headers[IDEMPOTENT_REPLAY_HEADER]).toBe('true');
    expect(again.json<Order>()).toMatchObject({ id: first.json<Order>().id, reason: 'insufficient_stock' });
  });

  it('rejects a reused Idempotency-Key with a different body: 422 IDEMPOTENCY_KEY_REUSED', async () => {
    const headers = { 'idempotency-key': 'checkout-2' };
    expect((await placeOrder([{ productId: 'p-006', quantity: 1 }], headers)).statusCode).toBe(201);
    const res = await placeOrder([{ productId: 'p-006', quantity: 2 }], headers);
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({ error: { code: 'IDEMPOTENCY_KEY_REUSED' } });
  });

  it('places one order and one charge for concurrent requests with the same key', async () => {
    const buyer = await signUp(users);
    const before = await stockOf(products, 'p-007');
    const responses = await Promise.all(
      Array.from({ length: 6 }, () => placeOrder([{ productId: 'p-007', quantity: 1 }], { 'idempotency-key': 'double-click' }, buyer.authorization)),
    );

    const placed = responses.filter((r) => r.statusCode === 201);
    const inProgress = responses.filter((r) => r.statusCode === 409);
    expect(placed.length + inProgress.length).toBe(responses.length);
    expect(placed.filter((r) => r.headers[IDEMPOTENT_REPLAY_HEADER] !== 'true')).toHaveLength(1);
    for (const r of inProgress) {
      expect(r.json()).toMatchObject({ error: { code: 'ORDER_IN_PROGRESS' } });
      expect(r.headers['retry-after']).toBe('1');
    }
    const list = await app.inject({ method: 'GET', url: '/orders', headers: { authorization: buyer.authorization } });
    expect(list.json<{ items: Order[] }>().items).toHaveLength(1);
    const orderId = list.json<{ items: Order[] }>().items[0]!.id;
    expect(await chargesFor(payments, orderId)).toHaveLength(1);
    expect(await stockOf(products, 'p-007')).toBe(before - 1);
  });

  it('treats requests without Idempotency-Key as distinct orders', async () => {
    const a = await placeOrder([{ productId: 'p-008', quantity: 1 }]);
    const b = await placeOrder([{ productId: 'p-008', quantity: 1 }]);
    expect([a.statusCode, b.statusCode]).toEqual([201, 201]);
    expect(a.json<Order>().id).not.toBe(b.json<Order>().id);
  });

  it('fails with 401 user_not_found when the token is valid but its user does not exist at user-service', async () => {
    // A second user-service holding a copy of the first one's database signs with the same key,
    // so its users' tokens verify here while user-service itself has never heard of them.
    const twinData = makeTempDir('user-service-twin-');
    const source = new Database(join(users.dataDir, 'user-service.db'), { readonly: true });
    source.exec(`VACUUM INTO '${join(twinData.path, 'user-service.db')}'`);
    source.close();
    const twin = await startShopService('user-service', {}, twinData.path);
    try {
      const stranger = await signUp(twin);
      const res = await placeOrder([{ productId: 'p-009', quantity: 1 }], {}, stranger.authorization);
      expect(res.statusCode).toBe(401);
      expect(res.json<Order>()).toMatchObject({ status: 'failed', reason: 'user_not_found', userId: stranger.userId });
    } finally {
      await twin.dispose();
      twinData.remove();
    }
  });
});

describe('authentication', () => {
  it.each([
    ['no Authorization header', undefined],
    ['a non-Bearer scheme', 'Basic c2hvcHBlcjpwdw=='],
    ['garbage', 'Bearer abc.def.ghi'],
  ])('answers 401 UNAUTHORIZED for %s', async (_label, authorization) => {
    const res = await app.inject({
      method: 'POST',
      url: '/orders',
      headers: authorization ? { authorization } : {},
      payload: { items: [{ productId: 'p-001', quantity: 1 }] },
    });
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ error: { code: 'UNAUTHORIZED' } });
    expect(res.headers['www-authenticate']).toBe('Bearer');
  });

  it('answers 401 for a token signed by someone else’s key and for a tampered token', async () => {
    const { privateKey } = await generateKeyPair('ES256');
    const foreign = await new SignJWT({})
      .setProtectedHeader({ alg: 'ES256' })
      .setIssuer('user-service')
      .setAudience('meshcart')
      .setSubject(shopper.userId)
      .setExpirationTime('5m')
      .sign(privateKey);
    const [header, payload, signature] = shopper.authorization.slice('Bearer '.length).split('.');
    const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>;
    const tampered = [header, Buffer.from(JSON.stringify({ ...claims, sub: 'someone-else' })).toString('base64url'), signature].join('.');

    for (const token of [foreign, tampered]) {
      const res = await app.inject({ method: 'GET', url: '/orders', headers: { authorization: `Bearer ${token}` } });
      expect(res.statusCode).toBe(401);
    }
  });

  it('guards the read routes too', async () => {
    expect((await app.inject({ method: 'GET', url: '/orders' })).statusCode).toBe(401);
    expect((await app.inject({ method: 'GET', url: '/orders/ord_x' })).statusCode).toBe(401);
  });
});

describe('validation', () => {
  it('answers 400 INVALID_JSON for a body that is not JSON', async () => {
    const res = await app.inject({
      method: 'POST',
      url: '/orders',
      headers: { authorization: shopper.authorization, 'content-type': 'application/json' },
      payload: '{"items": [',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: { code: 'INVALID_JSON' } });
  });

  it.each([
    ['missing items', {}, '/items'],
    ['empty items', { items: [] }, '/items'],
    ['quantity 0', { items: [{ productId: 'p-001', quantity: 0 }] }, '/items/0/quantity'],
    ['a quantity that is not a number', { items: [{ productId: 'p-001', quantity: 'two' }] }, '/items/0/quantity'],
    ['a fractional quantity', { items: [{ productId: 'p-001', quantity: 1.5 }] }, '/items/0/quantity'],
    ['items that is not a list', { items: { productId: 'p-001' } }, '/items'],
    ['a missing productId', { items: [{ quantity: 1 }] }, '/items/0/productId'],
    ['an unexpected field', { items: [{ productId: 'p-001', quantity: 1 }], coupon: 'FREE' }, '/coupon'],
  ])('answers 400 VALIDATION_FAILED naming the field for %s', async (_label, payload, path) => {
    const res = await app.inject({ method: 'POST', url: '/orders', headers: { authorization: shopper.authorization }, payload });
    expect(res.statusCode).toBe(400);
    const body = res.json<{ error: { code: string; details: { path: string }[] } }>();
    expect(body.error.code).toBe('VALIDATION_FAILED');
    expect(body.error.details.map((d) => d.path)).toContain(path);
  });

  it('answers 400 for an Idempotency-Key that is not a printable token', async () => {
    const res = await placeOrder([{ productId: 'p-001', quantity: 1 }], { 'idempotency-key': 'has spaces in it' });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ error: { code: 'VALIDATION_FAILED', details: [{ in: 'headers', path: '/idempotency-key' }] } });
  });
});

describe('GET /orders', () => {
  it('shows callers their own orders, newest first, and hides everyone else’s', async () => {
    const buyer = await signUp(users);
    const first = (await placeOrder([{ productId: 'p-010', quantity: 1 }], {}, buyer.authorization)).json<Order>();
    const second = (await placeOrder([{ productId: 'p-010', quantity: 1000 }], {}, buyer.authorization)).json<Order>();

    const list = await app.inject({ method: 'GET', url: '/orders', headers: { authorization: buyer.authorization } });
    expect(list.statusCode).toBe(200);
    expect(list.json<{ items: Order[] }>().items.map((o) => o.id)).toEqual([second.id, first.id]);

    const own = await app.inject({ method: 'GET', url: `/orders/${first.id}`, headers: { authorization: buyer.authorization } });
    expect(own.statusCode).toBe(200);
    expect(own.json<Order>()).toEqual(first);

    const foreign = await app.inject({ method: 'GET', url: `/orders/${first.id}`, headers: { authorization: shopper.authorization } });
    expect(foreign.statusCode).toBe(404);
    expect(foreign.json()).toMatchObject({ error: { code: 'ORDER_NOT_FOUND' } });
    const unknown = await app.inject({ method: 'GET', url: '/orders/ord_nope', headers: { authorization: buyer.authorization } });
    expect(unknown.statusCode).toBe(404);
  });

  it('reports ready while its database answers', async () => {
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    expect(res.statusCode).toBe(200);
  });
});
