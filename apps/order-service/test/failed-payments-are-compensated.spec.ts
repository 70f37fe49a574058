// A declined or unreachable payment undoes the reservation; a compensation that could not get through is finished by the sweep.
import type { Order } from '@meshcart/contracts';
import type { ServiceApp } from '@meshcart/service-kit';
import { makeTempDir } from '@meshcart/testing';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app';
import { OrderStore } from '../src/order-store';
import { chargesFor, directMesh, signUp, startShopService, stockOf, type ShopService } from './shop-services';

let users: ShopService;
let products: ShopService;
let decliningPayments: ShopService;
let doomedPayments: ShopService;
const dirs: ReturnType<typeof makeTempDir>[] = [];
const apps: ServiceApp[] = [];
let shopper: { authorization: string; userId: string };

async function orderService(payments: ShopService, dataDir = newDir()): Promise<ServiceApp> {
  const app = await buildApp({
    dataDir,
    mesh: directMesh({ 'user-service': users, 'product-service': products, 'payment-service': payments }),
    logger: false,
    compensationBackoffMs: [20, 20],
  });
  apps.push(app);
  return app;
}

function newDir(): string {
  const dir = makeTempDir('order-service-');
  dirs.push(dir);
  return dir.path;
}

beforeAll(async () => {
  [users, products, decliningPayments, doomedPayments] = await Promise.all([
    startShopService('user-service'),
    startShopService('product-service'),
    startShopService('payment-service', { PAYMENT_DECLINE_RATE: '1' }),
    startShopService('payment-service'),
  ]);
  shopper = await signUp(users);
});

afterAll(async () => {
  for (const app of apps) await app.close();
  await Promise.all([users, products, decliningPayments, doomedPayments].map((s) => s?.dispose()));
  for (const dir of dirs) dir.remove();
});

const place = (app: ServiceApp, items: { productId: string; quantity: number }[]) =>
  app.inject({ method: 'POST', url: '/orders', headers: { authorization: shopper.authorization }, payload: { items } });

describe('a declined payment', () => {
  it('fails the order with 402 payment_declined and releases the reserved stock', async () => {
    const app = await orderService(decliningPayments);
    const before = await stockOf(products, 'p-011');

    const res = await place(app, [{ productId: 'p-011', quantity: 3 }]);

    expect(res.statusCode).toBe(402);
    const order = res.json<Order>();
    expect(order).toMatchObject({ status: 'failed', reason: 'payment_declined' });
    expect(order.chargeId).toBeUndefined();
    expect(await stockOf(products, 'p-011')).toBe(before);
    const charges = await chargesFor(decliningPayments, order.id);
    expect(charges.filter((c) => c.status === 'succeeded')).toEqual([]);

    const stored = await app.inject({ method: 'GET', url: `/orders/${order.id}`, headers: { authorization: shopper.authorization } });
    expect(stored.json<Order>()).toMatchObject({ status: 'failed', reason: 'payment_declined' });
  });
});

describe('payment-service down', () => {
  it('fails the order with 503 dependency_unavailable, restores stock, and the sweep later finishes the compensation', async () => {
    const dataDir = newDir();
    const app = await orderService(doomedPayments, dataDir);
    const before = await stockOf(products, 'p-012');
    await doomedPayments.stop();

    const res = await place(app, [{ productId: 'p-012', quantity: 2 }]);

    expect(res.statusCode).toBe(503);
    const order = res.json<Order>();
    expect(order).toMatchObject({ status: 'failed', reason: 'dependency_unavailable' });
    expect(order.detail).toMatch(/payment-service/);
    expect(await stockOf(products, 'p-012')).toBe(before);

    // Whether a charge slipped through could not be checked while payment-service was down.
    await app.close();
    const peek = OrderStore.open(join(dataDir, 'order-service.db'));
    expect(peek.get(order.id)?.compensationPending).toBe(true);
    peek.close();

    const revived = await startShopService('payment-service', {}, doomedPayments.dataDir);
    try {
      const restarted = await orderService(revived, dataDir);
      const report = await restarted.recoverPendingOrders();
      expect(report.compensated).toEqual([order.id]);
      expect(report.compensationIncomplete).toEqual([]);
      expect((await restarted.recoverPendingOrders()).compensated).toEqual([]);
      expect(await chargesFor(revived, order.id)).toEqual([]);
      expect(await stockOf(products, 'p-012')).toBe(before);
    } finally {
      await revived.stop();
    }
  });
});
