import { startRecordingServer, type RecordingServer } from '@meshcart/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { planeWith, sample } from '../policy-harness';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

async function server(reply: Parameters<typeof startRecordingServer>[0]): Promise<RecordingServer> {
  const s = await startRecordingServer(reply);
  closers.push(s.close);
  return s;
}
const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('circuit breaker (error rate)', () => {
  it('opens, fails fast, half-opens after the sleep window, and closes on a good probe', async () => {
    let healthy = false;
    const up = await server((_req, res) => {
      res.writeHead(healthy ? 200 : 503);
      res.end();
    });
    const mesh = planeWith(
      `      policy:
        circuitBreaker: { requestVolumeThreshold: 4, errorThresholdPercentage: 50, sleepWindow: 300ms }`,
      [up.url],
    );
    closers.push(mesh.close);

    for (let i = 0; i < 4; i++) expect((await mesh.call()).status).toBe(503);
    expect(await sample(mesh.metrics, 'mesh_circuit_breaker_state', { dst_service: 'payment-service' })).toBe(1);
    const open = await mesh.call();
    expect(open.status).toBe(503);
    expect(open.headers['x-meshcart-error']).toBe('MESH_ERR_CIRCUIT_OPEN');
    expect(up.requests).toHaveLength(4); // failed fast: the upstream never saw it

    await wait(350);
    healthy = true;
    expect((await mesh.call()).status).toBe(200); // the half-open probe
    expect(await sample(mesh.metrics, 'mesh_circuit_breaker_state', { dst_service: 'payment-service' })).toBe(0);
    expect((await mesh.call()).status).toBe(200);
    expect(up.requests).toHaveLength(6);
  });

  it('reopens when the half-open probe fails', async () => {
    const up = await server((_req, res) => {
      res.writeHead(503);
      res.end();
    });
    const mesh = planeWith(
      `      policy:
        circuitBreaker: { requestVolumeThreshold: 2, errorThresholdPercentage: 50, sleepWindow: 200ms }`,
      [up.url],
    );
    closers.push(mesh.close);
    await mesh.call();
    await mesh.call();
    await wait(250);
    expect((await mesh.call()).headers['x-meshcart-error']).toBeUndefined(); // the probe reached the upstream
    expect((await mesh.call()).headers['x-meshcart-error']).toBe('MESH_ERR_CIRCUIT_OPEN');
    expect(up.requests).toHaveLength(3);
  });
});

describe('circuit breaker thresholds', () => {
  it('refuses requests over maxRequests at once with 503 MESH_ERR_OVERFLOW', async () => {
    const held: (() => void)[] = [];
    const up = await server((_req, res) => void held.push(() => res.end('done')));
    const mesh = planeWith(
      `      policy:
        circuitBreaker: { httpMaxRequests: 2 }`,
      [up.url],
    );
    closers.push(mesh.close);
    const first = [mesh.call(), mesh.call()];
    while (held.length < 2) await wait(5);
    const third = await mesh.call();
    expect(third.status).toBe(503);
    expect(third.headers['x-meshcart-error']).toBe('MESH_ERR_OVERFLOW');
    expect(await sample(mesh.metrics, 'mesh_pending_requests', { dst_service: 'payment-service' })).toBe(2);
    held.forEach((release) => release());
    expect((await Promise.all(first)).map((r) => r.status)).toEqual([200, 200]);
    expect(await sample(mesh.metrics, 'mesh_overflow_total', { limit: 'maxRequests' })).toBe(1);
  });
});

describe('outlier detection', () => {
  it('ejects an endpoint after consecutive 5xx, sends it nothing while ejected, then takes it back', async () => {
    const bad = await server((_req, res) => {
      res.writeHead(503);
      res.end();
    });
    const good = await server((_req, res) => res.end('ok'));
    const mesh = planeWith(
      `      policy:
        loadBalancer: { policy: ROUND_ROBIN }
        outlierDetection: { consecutive5xxErrors: 2, intervalMs: 20, baseEjectionTimeMs: 300, maxEjectionPercent: 50 }`,
      [bad.url, good.url],
    );
    closers.push(mesh.close);
    for (let i = 0; i < 4; i++) await mesh.call();
    expect(bad.requests).toHaveLength(2);
    expect(await sample(mesh.metrics, 'mesh_outlier_ejections_total', { dst_service: 'payment-service' })).toBe(1);

    for (let i = 0; i < 10; i++) expect((await mesh.call()).status).toBe(200);
    expect(bad.requests).toHaveLength(2);

    await wait(400);
    for (let i = 0; i < 4; i++) await mesh.call();
    expect(bad.requests.length).toBeGreaterThan(2);
  });

  it('never ejects past maxEjectionPercent', async () => {
    const bad1 = await server((_req, res) => (res.writeHead(503), res.end()));
    const bad2 = await server((_req, res) => (res.writeHead(503), res.end()));
    const mesh = planeWith(
      `      policy:
        loadBalancer: { policy: ROUND_ROBIN }
        outlierDetection: { consecutive5xxErrors: 1, baseEjectionTimeMs: 60000, maxEjectionPercent: 50 }`,
      [bad1.url, bad2.url],
    );
    closers.push(mesh.close);
    for (let i = 0; i < 6; i++) await mesh.call();
    expect(await sample(mesh.metrics, 'mesh_outlier_ejections_total', { dst_service: 'payment-service' })).toBe(1);
  });

  it('ignores ejections while fewer than minHealthPercent of endpoints are healthy (panic mode)', async () => {
    const bad = await server((_req, res) => (res.writeHead(503), res.end()));
    const good = await server((_req, res) => res.end('ok'));
    const mesh = planeWith(
      `      policy:
        loadBalancer: { policy: ROUND_ROBIN }
        outlierDetection: { consecutive5xxErrors: 1, baseEjectionTimeMs: 60000, maxEjectionPercent: 100, minHealthPercent: 60 }`,
      [bad.url, good.url],
    );
    closers.push(mesh.close);
    for (let i = 0; i < 10; i++) await mesh.call();
    expect(await sample(mesh.metrics, 'mesh_outlier_ejections_total', { dst_service: 'payment-service' })).toBe(1);
    // Half the endpoints healthy is under 60%: the ejected one still gets its turn.
    expect(bad.requests.length).toBe(5);
  });
});

describe('least request', () => {
  it('steers away from a slow replica', async () => {
    const slow = await server((_req, res) => void setTimeout(() => res.end('slow'), 150));
    const fast = await server((_req, res) => res.end('fast'));
    const mesh = planeWith(
      `      policy:
        loadBalancer: { policy: LEAST_REQUEST }`,
      [slow.url, fast.url],
    );
    closers.push(mesh.close);
    // Four callers at once, 15 requests each: the slow replica holds its requests longer, so it is picked less.
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let i = 0; i < 15; i++) await mesh.call();
      }),
    );
    expect(slow.requests.length + fast.requests.length).toBe(60);
    expect(slow.requests.length).toBeLessThan(fast.requests.length / 3);
  });
});

describe('peak EWMA and consistent hash in the data plane', () => {
  it('peak EWMA steers even sequential traffic away from a slow replica', async () => {
    const slow = await server((_req, res) => void setTimeout(() => res.end('slow'), 40));
    const fast = await server((_req, res) => res.end('fast'));
    const mesh = planeWith(
      `      policy:
        loadBalancer: { policy: PEAK_EWMA }`,
      [slow.url, fast.url],
    );
    closers.push(mesh.close);
    for (let i = 0; i < 40; i++) await mesh.call();
    expect(slow.requests.length).toBeLessThan(8);
  });

  it('consistent hash on a header keeps each user on one replica', async () => {
    const a = await server((_req, res) => res.end('a'));
    const b = await server((_req, res) => res.end('b'));
    const mesh = planeWith(
      `      policy:
        loadBalancer: { policy: CONSISTENT_HASH, hashOn: { header: x-user-id } }`,
      [a.url, b.url],
    );
    closers.push(mesh.close);
    const seen = new Map<string, Set<string>>();
    for (let i = 0; i < 60; i++) {
      const user = `u${i % 12}`;
      const res = await mesh.call('/x', { headers: { 'x-user-id': user } });
      seen.set(user, (seen.get(user) ?? new Set()).add(res.text));
    }
    for (const replicas of seen.values()) expect(replicas.size).toBe(1);
    expect(new Set([...seen.values()].map((s) => [...s][0])).size).toBe(2);
  });
});
