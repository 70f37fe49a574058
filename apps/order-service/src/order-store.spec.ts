// The store keeps one order per user and Idempotency-Key, lists a user's own orders newest first, and finds stale ones.
import { makeTempDir } from '@meshcart/testing';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { OrderStore, toPublicOrder } from './order-store';

let dir: ReturnType<typeof makeTempDir>;
let now: Date;
let store: OrderStore;

beforeEach(() => {
  dir = makeTempDir('order-store-');
  now = new Date('2030-01-01T00:00:00.000Z');
  store = OrderStore.open(join(dir.path, 'order-service.db'), () => now);
});

afterEach(() => {
  store.close();
  dir.remove();
});

const items = [{ productId: 'p-001', quantity: 2 }];
const order = (id: string, userId = 'u-1', idempotencyKey = `key-${id}`) => ({ id, userId, idempotencyKey, requestHash: 'h', items });

describe('OrderStore', () => {
  it('creates a pending order at the first step and returns the existing one for a reused key', () => {
    const first = store.create(order('ord_1', 'u-1', 'k'));
    expect(first.created).toBe(true);
    if (!first.created) return;
    expect(first.order).toMatchObject({ id: 'ord_1', status: 'pending', step: 'verifying_user', totalCents: 0, items, httpStatus: null });

    const again = store.create(order('ord_2', 'u-1', 'k'));
    expect(again).toMatchObject({ created: false, existing: { id: 'ord_1' } });
    expect(store.get('ord_2')).toBeUndefined();
  });

  it('scopes Idempotency-Keys to the user, so two users may use the same key', () => {
    expect(store.create(order('ord_1', 'u-1', 'same')).created).toBe(true);
    expect(store.create(order('ord_2', 'u-2', 'same')).created).toBe(true);
  });

  it('only shows an order to its owner and lists the owner’s orders newest first', () => {
    store.create(order('ord_1'));
    now = new Date(now.getTime() + 1_000);
    store.create(order('ord_2'));
    store.create(order('ord_3')); // same millisecond as ord_2: insertion order breaks the tie
    store.create(order('ord_x', 'u-2'));
    expect(store.getForUser('ord_1', 'u-1')?.id).toBe('ord_1');
    expect(store.getForUser('ord_1', 'u-2')).toBeUndefined();
    expect(store.listForUser('u-1').map((o) => o.id)).toEqual(['ord_3', 'ord_2', 'ord_1']);
    expect(store.listForUser('u-1', 2)).toHaveLength(2);
  });

  it('records the saga’s progress and the final status with its HTTP code', () => {
    store.create(order('ord_1'));
    store.setStep('ord_1', 'charging');
    store.recordReservation('ord_1', [{ productId: 'p-001', quantity: 2, priceCents: 999 }], 1998);
    store.recordCharge('ord_1', 'ch_1');
    const confirmed = store.confirm('ord_1');
    expect(confirmed).toMatchObject({ status: 'confirmed', step: 'done', httpStatus: 201, totalCents: 1998, chargeId: 'ch_1' });
    expect(toPublicOrder(confirmed)).not.toHaveProperty('idempotencyKey');

    store.create(order('ord_2'));
    const failed = store.fail('ord_2', { reason: 'payment_declined', detail: 'no', httpStatus: 402, compensationPending: true });
    expect(failed).toMatchObject({ status: 'failed', reason: 'payment_declined', httpStatus: 402, compensationPending: true });
    expect(store.findCompensationPending().map((o) => o.id)).toEqual(['ord_2']);
    store.clearCompensationPending('ord_2');
    expect(store.findCompensationPending()).toEqual([]);
  });

  it('never moves a finished order back: a late failure cannot overwrite a confirmation', () => {
    store.create(order('ord_1'));
    store.confirm('ord_1');
    const after = store.fail('ord_1', { reason: 'interrupted', detail: 'late', httpStatus: 503, compensationPending: false });
    expect(after.status).toBe('confirmed');
  });

  it('finds pending orders that have not moved for longer than the given age', () => {
    store.create(order('ord_old'));
    now = new Date(now.getTime() + 60_000);
    store.create(order('ord_new'));
    store.create(order('ord_done'));
    store.confirm('ord_done');
    expect(store.findStalePending(30_000).map((o) => o.id)).toEqual(['ord_old']);
    // Progress counts as movement.
    store.setStep('ord_old', 'reserving');
    expect(store.findStalePending(30_000)).toEqual([]);
  });

  it('reports healthy while the database answers', () => {
    expect(store.isHealthy()).toBe(true);
  });
});
