// Orders left pending by a stopped order-service are undone (or, if already committed, confirmed) by the recovery sweep.
import type { ServiceApp } from '@meshcart/service-kit';
import { makeTempDir } from '@meshcart/testing';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app';
import { OrderStore, type SagaStep } from '../src/order-store';
import { charge, chargesFor, commit, directMesh, reserve, startShopService, stockOf, type ShopService } from './shop-services';

let products: ShopService;
let payments: ShopService;
let orderData: ReturnType<typeof makeTempDir>;
let dbFile: string;
const apps: ServiceApp[] = [];

beforeAll(async () => {
  [products, payments] = await Promise.all([startShopService('product-service'), startShopService('payment-service')]);
  orderData = makeTempDir('order-service-');
  dbFile = join(orderData.path, 'order-service.db');
});

afterAll(async () => {
  for (const app of apps) await app.close();
  await Promise.all([products?.dispose(), payments?.dispose()]);
  orderData?.remove();
});

async function orderService(extra: { recoveryIntervalMs?: number } = {}): Promise<ServiceApp> {
  const app = await buildApp({
    dataDir: orderData.path,
    mesh: directMesh({ 'product-service': products, 'payment-service': payments }),
    logger: false,
    ...extra,
  });
  apps.push(app);
  return app;
}

/** Writes a pending order the way a saga that died at `step` would have left it, `ageMs` ago. */
function leavePending(id: string, step: SagaStep, ageMs: number, items: { productId: string; quantity: number }[], chargeId?: string) {
  const store = OrderStore.open(dbFile, () => new Date(Date.now() - ageMs));
  store.create({ id, userId: 'u-1', idempotencyKey: `key-${id}`, requestHash: 'h', items });
  store.setStep(id, step);
  if (chargeId) store.recordCharge(id, chargeId);
  store.close();
}

function read(id: string) {
  const store = OrderStore.open(dbFile);
  try {
    return store.get(id);
  } finally {
    store.close();
  }
}

describe('recoverPendingOrders', () => {
  it('refunds, releases and marks interrupted what stopped mid-saga; confirms what had committed; leaves young orders alone', async () => {
    const stock = {
      p020: await stockOf(products, 'p-020'),
      p021: await stockOf(products, 'p-021'),
      p022: await stockOf(products, 'p-022'),
      p023: await stockOf(products, 'p-023'),
    };

    // Died after charging, before recording the charge id: found by looking charges up.
    const charged = await reserve(products, 'ord_charged', [{ productId: 'p-020', quantity: 2 }]);
    await charge(payments, 'ord_charged', charged.totalCents);
    leavePending('ord_charged', 'charging', 60_000, [{ productId: 'p-020', quantity: 2 }]);
    // Died while reserving: the reservation went through.
    await reserve(products, 'ord_reserving', [{ productId: 'p-021', quantity: 1 }]);
    leavePending('ord_reserving', 'reserving', 60_000, [{ productId: 'p-021', quantity: 1 }]);
    // Died while checking the user: nothing exists elsewhere.
    leavePending('ord_verifying', 'verifying_user', 60_000, [{ productId: 'p-021', quantity: 1 }]);
    // Died after the commit went through: the order is complete.
    const committed = await reserve(products, 'ord_committed', [{ productId: 'p-022', quantity: 1 }]);
    const paid = await charge(payments, 'ord_committed', committed.totalCents);
    await commit(products, 'ord_committed');
    leavePending('ord_committed', 'committing', 60_000, [{ productId: 'p-022', quantity: 1 }], paid.id);
    // Still within the grace period: may belong to a saga another replica is running.
    await reserve(products, 'ord_young', [{ productId: 'p-023', quantity: 1 }]);
    leavePending('ord_young', 'reserving', 1_000, [{ productId: 'p-023', quantity: 1 }]);

    const app = await orderService();
    const report = await app.recoverPendingOrders();

    expect(report.interrupted.sort()).toEqual(['ord_charged', 'ord_reserving', 'ord_verifying']);
    expect(report.confirmed).toEqual(['ord_committed']);
    expect(report.compensationIncomplete).toEqual([]);

    expect(read('ord_charged')).toMatchObject({ status: 'failed', reason: 'interrupted', httpStatus: 503, compensationPending: false });
    expect((await chargesFor(payments, 'ord_charged')).map((c) => c.status)).toEqual(['refunded']);
    expect(await stockOf(products, 'p-020')).toBe(stock.p020);

    expect(read('ord_reserving')).toMatchObject({ status: 'failed', reason: 'interrupted' });
    expect(await stockOf(products, 'p-021')).toBe(stock.p021);
    expect(read('ord_verifying')).toMatchObject({ status: 'failed', reason: 'interrupted' });

    expect(read('ord_committed')).toMatchObject({ status: 'confirmed', chargeId: paid.id });
    expect((await chargesFor(payments, 'ord_committed')).map((c) => c.status)).toEqual(['succeeded']);
    expect(await stockOf(products, 'p-022')).toBe(stock.p022 - 1);

    expect(read('ord_young')).toMatchObject({ status: 'pending' });
    expect(await stockOf(products, 'p-023')).toBe(stock.p023 - 1);

    // A second sweep finds nothing new to do.
    expect(await app.recoverPendingOrders()).toMatchObject({ interrupted: [], confirmed: [], compensated: [] });
  });

  it('runs by itself when the app is ready if a recovery interval is set, as main does', async () => {
    const before = await stockOf(products, 'p-024');
    await reserve(products, 'ord_startup', [{ productId: 'p-024', quantity: 4 }]);
    leavePending('ord_startup', 'reserving', 60_000, [{ productId: 'p-024', quantity: 4 }]);

    const app = await orderService({ recoveryIntervalMs: 60_000 });
    await app.ready();
    for (let i = 0; i < 100 && read('ord_startup')?.status === 'pending'; i++) await sleep(50);

    expect(read('ord_startup')).toMatchObject({ status: 'failed', reason: 'interrupted' });
    expect(await stockOf(products, 'p-024')).toBe(before);
  });
});
