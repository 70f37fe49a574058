import { startRecordingServer, type RecordingServer } from '@meshcart/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { planeWith, sample } from '../policy-harness';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

/** Fails the first `n` requests with `status`, then answers 200. */
async function flaky(n: number, status = 503): Promise<RecordingServer> {
  let seen = 0;
  const s = await startRecordingServer((req, res) => {
    res.writeHead(seen++ < n ? status : 200, { 'content-type': 'text/plain' });
    res.end(req.body || 'ok');
  });
  closers.push(s.close);
  return s;
}

/**
 * A plane whose requests hash on x-user over two replicas, the first refusing connections: every
 * try of a request lands on the same replica unless a retry leaves out the one already tried.
 */
async function hashedOverDeadAndLive(live: RecordingServer, retryPolicy: string) {
  const dead = await startRecordingServer();
  await dead.close();
  const mesh = planeWith(
    `      policy:
        loadBalancer: { policy: CONSISTENT_HASH, hashOn: { header: x-user } }
        retries: ${retryPolicy}`,
    [dead.url, live.url],
  );
  closers.push(mesh.close);
  return mesh;
}

const retries = (extra = '') => `      policy:
        retries: { attempts: 3, retryOn: [gateway-error], backoff: { baseMs: 1, maxMs: 5 } }
${extra}`;

describe('retries', () => {
  it('repeat a failed idempotent request until it succeeds, counting each retry', async () => {
    const up = await flaky(2);
    const mesh = planeWith(retries(), [up.url]);
    closers.push(mesh.close);
    const res = await mesh.call('/charges/1');
    expect(res.status).toBe(200);
    expect(up.requests).toHaveLength(3);
    expect(await sample(mesh.metrics, 'mesh_retries_total', { dst_service: 'payment-service' })).toBe(2);
  });

  it('give up after the configured attempts and return the last answer', async () => {
    const up = await flaky(100);
    const mesh = planeWith(retries(), [up.url]);
    closers.push(mesh.close);
    expect((await mesh.call('/x')).status).toBe(503);
    expect(up.requests).toHaveLength(4);
  });

  it('never repeat a POST without an Idempotency-Key, and replay the body of one with it', async () => {
    const up = await flaky(1);
    const mesh = planeWith(retries(), [up.url]);
    closers.push(mesh.close);
    expect((await mesh.call('/charges', { method: 'POST', body: 'pay' })).status).toBe(503);
    expect(up.requests).toHaveLength(1);
    const res = await mesh.call('/charges', { method: 'POST', body: 'pay', headers: { 'idempotency-key': 'k1' } });
    expect(res.status).toBe(200);
    expect(res.text).toBe('pay');
    expect(up.requests.map((r) => r.body)).toEqual(['pay', 'pay']);
  });

  it('retry a connection reset by the upstream when reset is listed', async () => {
    let n = 0;
    const up = await startRecordingServer((req, res) => {
      if (n++ === 0) return void res.socket?.destroy();
      res.end('ok');
    });
    closers.push(up.close);
    const mesh = planeWith(
      `      policy:
        retries: { attempts: 2, retryOn: [reset], backoff: { baseMs: 1, maxMs: 1 } }`,
      [up.url],
    );
    closers.push(mesh.close);
    const res = await mesh.call('/x');
    expect(res.status).toBe(200);
    expect(res.text).toBe('ok');
    expect(up.requests).toHaveLength(2);
  });

  it('send a retry to an endpoint the request has not tried yet', async () => {
    const up = await flaky(0);
    const mesh = await hashedOverDeadAndLive(up, '{ attempts: 1, retryOn: [connect-failure], backoff: { baseMs: 1, maxMs: 1 } }');
    const statuses = [];
    for (let i = 0; i < 20; i++) statuses.push((await mesh.call('/charges/1', { headers: { 'x-user': `u${i}` } })).status);
    expect(
      statuses.every((s) => s === 200),
      statuses.join(','),
    ).toBe(true);
    expect(up.requests).toHaveLength(20);
  });

  it('repeat a POST without an Idempotency-Key only when its try never reached the upstream', async () => {
    const up = await flaky(1);
    const mesh = await hashedOverDeadAndLive(up, '{ attempts: 2, retryOn: [connect-failure, gateway-error], backoff: { baseMs: 1, maxMs: 1 } }');
    // Users whose requests hash to the dead replica first have their POST repeated on the live one.
    const results = [];
    for (let i = 0; i < 10; i++) results.push(await mesh.call('/charges', { method: 'POST', body: `pay-${i}`, headers: { 'x-user': `u${i}` } }));
    // The live replica saw each body once: a 503 it answered (something was sent) is not repeated.
    expect(up.requests.map((r) => r.body).sort()).toEqual(results.map((_, i) => `pay-${i}`).sort());
    expect(results.filter((r) => r.status === 503)).toHaveLength(1);
    expect(results.filter((r) => r.status === 200)).toHaveLength(9);
  });

  it('retry only on the listed conditions', async () => {
    const up = await flaky(1, 500);
    const mesh = planeWith(retries(), [up.url]);
    closers.push(mesh.close);
    // gateway-error covers 502, 503 and 504, not 500.
    expect((await mesh.call('/x')).status).toBe(500);
    expect(up.requests).toHaveLength(1);
  });

  it('give each try its own deadline with perTryTimeoutMs', async () => {
    let n = 0;
    const up = await startRecordingServer((_req, res) => {
      if (n++ === 0) return void setTimeout(() => res.end('late'), 1_000);
      res.end('fast');
    });
    closers.push(up.close);
    const mesh = planeWith(
      `      policy:
        timeoutMs: 2000
        retries: { attempts: 2, perTryTimeoutMs: 100, retryOn: [gateway-error], backoff: { baseMs: 1, maxMs: 1 } }`,
      [up.url],
    );
    closers.push(mesh.close);
    const res = await mesh.call('/x');
    expect(res.status).toBe(200);
    expect(res.text).toBe('fast');
  });

  it('stop when the budget is spent: three layers of retries stay near the budget, not 4³', async () => {
    const up = await flaky(Number.MAX_SAFE_INTEGER);
    // Three proxies in a row (each with 3 retries and a 20% budget) in front of an upstream that always fails.
    const policy = `      policy:
        retries: { attempts: 3, retryOn: [gateway-error], backoff: { baseMs: 0, maxMs: 0 } }
        retryBudget: { budgetPercent: 20, minRetriesPerSecond: 0 }`;
    const inner = planeWith(policy, [up.url]);
    const hop = async (next: ReturnType<typeof planeWith>) => {
      const s = await startRecordingServer(async (req, res) => {
        const r = await next.call(req.url, { method: req.method });
        res.writeHead(r.status);
        res.end(r.text);
      });
      closers.push(s.close);
      return s;
    };
    const middle = planeWith(policy, [(await hop(inner)).url]);
    const outer = planeWith(policy, [(await hop(middle)).url]);
    closers.push(inner.close, middle.close, outer.close);

    const requests = 50;
    for (let i = 0; i < requests; i++) expect((await outer.call('/x')).status).toBe(503);
    // Each layer may add 20% of what it receives: at most 50 × 1.2³ ≈ 86 tries reach the upstream.
    expect(up.requests.length).toBeGreaterThan(requests);
    expect(up.requests.length).toBeLessThanOrEqual(Math.floor(requests * 1.2 ** 3));
    expect(await sample(outer.metrics, 'mesh_retry_budget_exhausted_total', { dst_service: 'payment-service' })).toBeGreaterThan(0);
  });
});
