// Refunding a charge: once, only if it succeeded.
import { makeTempDir } from '@meshcart/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildApp } from './app';

describe('refunds', () => {
  let dir: ReturnType<typeof makeTempDir>;
  let app: Awaited<ReturnType<typeof buildApp>>;
  let draw = 0.99;

  beforeEach(async () => {
    dir = makeTempDir();
    draw = 0.99;
    // Declines only when a test lowers the draw under the 0.5 rate.
    app = await buildApp({ dataDir: dir.path, logger: false, processor: { latencyMs: 0, declineRate: 0.5, random: () => draw } });
  });
  afterEach(async () => {
    await app.close();
    dir.remove();
  });

  const charge = async (key: string) =>
    (
      await app.inject({ method: 'POST', url: '/charges', headers: { 'idempotency-key': key }, payload: { orderId: 'o-1', amountCents: 4200 } })
    ).json();
  const refund = (id: string) => app.inject({ method: 'POST', url: `/charges/${id}/refund` });

  it('refunds a succeeded charge', async () => {
    const { id } = await charge('k-1');
    const res = await refund(id);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ id, status: 'refunded', refundedAt: expect.any(String) });
    expect((await app.inject({ url: `/charges/${id}` })).json().status).toBe('refunded');
  });

  it('refunds once when asked twice', async () => {
    const { id } = await charge('k-1');
    const first = (await refund(id)).json();
    const second = await refund(id);
    expect(second.statusCode).toBe(200);
    expect(second.json()).toEqual(first);
    expect(second.json().refundedAt).toBe(first.refundedAt);
  });

  it('refunds once when asked twice at the same time', async () => {
    const { id } = await charge('k-1');
    const [a, b] = await Promise.all([refund(id), refund(id)]);
    expect([a.statusCode, b.statusCode]).toEqual([200, 200]);
    expect(a.json().refundedAt).toBe(b.json().refundedAt);
  });

  it('refuses to refund a declined charge with 409 CHARGE_NOT_REFUNDABLE', async () => {
    draw = 0.1;
    const declined = await charge('k-declined');
    expect(declined.status).toBe('declined');
    const res = await refund(declined.id);
    expect(res.statusCode).toBe(409);
    expect(res.json().error.code).toBe('CHARGE_NOT_REFUNDABLE');
    expect((await app.inject({ url: `/charges/${declined.id}` })).json().status).toBe('declined');
  });

  it('answers 404 CHARGE_NOT_FOUND for an unknown charge', async () => {
    const res = await refund('ch_unknown');
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('CHARGE_NOT_FOUND');
  });

  it('answers 400 naming a malformed charge id', async () => {
    const res = await refund('ch.bad');
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details).toContainEqual(expect.objectContaining({ path: '/id', in: 'params' }));
  });

  it('keeps the original answer on replay after a refund', async () => {
    const { id } = await charge('k-1');
    await refund(id);
    const replay = await app.inject({
      method: 'POST',
      url: '/charges',
      headers: { 'idempotency-key': 'k-1' },
      payload: { orderId: 'o-1', amountCents: 4200 },
    });
    expect(replay.statusCode).toBe(201);
    expect(replay.json()).toMatchObject({ id, status: 'refunded' });
  });
});
