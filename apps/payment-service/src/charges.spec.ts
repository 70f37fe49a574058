// Charging through the simulated processor: success, decline, lookups and input checks.
import { makeTempDir } from '@meshcart/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp, type PaymentServiceOptions } from './app';

describe('charges', () => {
  let dir: ReturnType<typeof makeTempDir> | undefined;
  let app: Awaited<ReturnType<typeof buildApp>> | undefined;

  async function start(processor: PaymentServiceOptions['processor'] = { latencyMs: 0, declineRate: 0 }) {
    dir = makeTempDir();
    app = await buildApp({ dataDir: dir.path, logger: false, processor });
    return app;
  }
  afterEach(async () => {
    await app?.close();
    dir?.remove();
    app = dir = undefined;
  });

  /** `key: null` sends no Idempotency-Key header at all. */
  const charge = (a: NonNullable<typeof app>, payload: unknown, key: string | null = 'key-1') =>
    a.inject({ method: 'POST', url: '/charges', headers: key ? { 'idempotency-key': key } : {}, payload: payload as object });

  it('charges and answers 201 with a succeeded charge', async () => {
    const a = await start();
    const res = await charge(a, { orderId: 'o-1', amountCents: 1299 });
    expect(res.statusCode).toBe(201);
    expect(res.json()).toEqual({
      id: expect.stringMatching(/^ch_[A-Za-z0-9_-]{16}$/),
      orderId: 'o-1',
      amountCents: 1299,
      currency: 'USD',
      status: 'succeeded',
      createdAt: expect.any(String),
    });
    expect(res.headers['idempotent-replayed']).toBeUndefined();
    expect((await a.inject({ url: `/charges/${res.json().id}` })).json()).toEqual(res.json());
  });

  it('records a decline and answers 402 with status declined and reason card_declined', async () => {
    const a = await start({ latencyMs: 0, declineRate: 1 });
    const res = await charge(a, { orderId: 'o-2', amountCents: 500 });
    expect(res.statusCode).toBe(402);
    expect(res.json()).toMatchObject({ status: 'declined', declineReason: 'card_declined', orderId: 'o-2' });
    const stored = await a.inject({ url: `/charges/${res.json().id}` });
    expect(stored.statusCode).toBe(200);
    expect(stored.json().status).toBe('declined');
  });

  it('declines when the random draw is under the decline rate, and approves otherwise', async () => {
    const draws = [0.1, 0.9];
    const a = await start({ latencyMs: 0, declineRate: 0.5, random: () => draws.shift()! });
    expect((await charge(a, { orderId: 'o-3', amountCents: 100 }, 'k-a')).statusCode).toBe(402);
    expect((await charge(a, { orderId: 'o-3', amountCents: 100 }, 'k-b')).statusCode).toBe(201);
  });

  it('waits for the processor latency before answering', async () => {
    const a = await start({ latencyMs: 80, declineRate: 0 });
    const started = performance.now();
    expect((await charge(a, { orderId: 'o-slow', amountCents: 100 })).statusCode).toBe(201);
    expect(performance.now() - started).toBeGreaterThanOrEqual(75);
  });

  it('lists the charges of one order', async () => {
    const a = await start();
    const first = (await charge(a, { orderId: 'o-list', amountCents: 100 }, 'k-1')).json();
    const second = (await charge(a, { orderId: 'o-list', amountCents: 200 }, 'k-2')).json();
    await charge(a, { orderId: 'o-other', amountCents: 300 }, 'k-3');
    const res = await a.inject({ url: '/charges?orderId=o-list' });
    expect(res.statusCode).toBe(200);
    expect(
      res
        .json()
        .items.map((c: { id: string }) => c.id)
        .sort(),
    ).toEqual([first.id, second.id].sort());
    expect((await a.inject({ url: '/charges' })).json().items).toHaveLength(3);
    expect((await a.inject({ url: '/charges?orderId=o-none' })).json()).toEqual({ items: [] });
  });

  it('answers 404 CHARGE_NOT_FOUND for an unknown charge', async () => {
    const a = await start();
    const res = await a.inject({ url: '/charges/ch_nope' });
    expect(res.statusCode).toBe(404);
    expect(res.json().error.code).toBe('CHARGE_NOT_FOUND');
  });

  it('requires the Idempotency-Key header: 400 IDEMPOTENCY_KEY_REQUIRED', async () => {
    const a = await start();
    const res = await charge(a, { orderId: 'o-1', amountCents: 100 }, null);
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('IDEMPOTENCY_KEY_REQUIRED');
    expect((await a.inject({ url: '/charges' })).json().items).toEqual([]);
  });

  it('rejects a malformed Idempotency-Key, naming the header', async () => {
    const a = await start();
    const res = await charge(a, { orderId: 'o-1', amountCents: 100 }, 'has spaces in it');
    expect(res.statusCode).toBe(400);
    expect(res.json().error.details).toContainEqual(expect.objectContaining({ path: '/idempotency-key', in: 'headers' }));
  });

  it('rejects invalid JSON with 400 INVALID_JSON', async () => {
    const a = await start();
    const res = await a.inject({
      method: 'POST',
      url: '/charges',
      headers: { 'content-type': 'application/json', 'idempotency-key': 'k' },
      payload: '{"orderId":"o-1","amountCents":',
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().error.code).toBe('INVALID_JSON');
  });

  it('names missing and wrong-typed fields', async () => {
    const a = await start();
    const missing = await charge(a, { orderId: 'o-1' });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().error.details).toContainEqual(expect.objectContaining({ path: '/amountCents', in: 'body' }));

    const wrongType = await charge(a, { orderId: 'o-1', amountCents: 'ten dollars' });
    expect(wrongType.statusCode).toBe(400);
    expect(wrongType.json().error.message).toContain('body/amountCents');

    const zero = await charge(a, { orderId: 'o-1', amountCents: 0 });
    expect(zero.statusCode).toBe(400);

    const currency = await charge(a, { orderId: 'o-1', amountCents: 100, currency: 'EUR' });
    expect(currency.statusCode).toBe(400);
    expect(currency.json().error.details).toContainEqual(expect.objectContaining({ path: '/currency' }));

    expect((await a.inject({ url: '/charges' })).json().items).toEqual([]);
  });

  it('rejects a processor configuration out of range', async () => {
    dir = makeTempDir();
    await expect(buildApp({ dataDir: dir.path, logger: false, processor: { latencyMs: 0, declineRate: 1.5 } })).rejects.toThrow(/declineRate/);
  });
});
