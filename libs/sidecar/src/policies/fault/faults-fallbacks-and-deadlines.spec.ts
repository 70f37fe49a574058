import { startRecordingServer, type RecordingServer } from '@meshcart/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { planeWith } from '../policy-harness';

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  while (closers.length) await closers.pop()!();
});

async function server(reply?: Parameters<typeof startRecordingServer>[0]): Promise<RecordingServer> {
  const s = await startRecordingServer(reply);
  closers.push(s.close);
  return s;
}

describe('fault injection', () => {
  it('aborts the configured share of requests with the given status, without calling the upstream', async () => {
    const up = await server();
    const mesh = planeWith(`      fault: { abort: { httpStatus: 503, percent: 100 } }`, [up.url]);
    closers.push(mesh.close);
    const res = await mesh.call();
    expect(res.status).toBe(503);
    expect(res.headers['x-meshcart-fault']).toBe('abort');
    expect(JSON.parse(res.text).error.code).toBe('MESH_ERR_FAULT_INJECTED');
    expect(up.requests).toHaveLength(0);
  });

  it('aborts about half the requests at 50%', async () => {
    const up = await server();
    const mesh = planeWith(`      fault: { abort: { httpStatus: 500, percent: 50 } }`, [up.url]);
    closers.push(mesh.close);
    const statuses = [];
    for (let i = 0; i < 400; i++) statuses.push((await mesh.call()).status);
    const aborted = statuses.filter((s) => s === 500).length;
    expect(aborted).toBeGreaterThan(140);
    expect(aborted).toBeLessThan(260);
  });

  it('applies only to requests carrying the listed headers', async () => {
    const up = await server();
    const mesh = planeWith(`      fault: { abort: { httpStatus: 418, percent: 100 }, headers: { x-drill: "on" } }`, [up.url]);
    closers.push(mesh.close);
    expect((await mesh.call()).status).toBe(200);
    expect((await mesh.call('/x', { headers: { 'x-drill': 'on' } })).status).toBe(418);
  });

  it('delays requests by the fixed delay', async () => {
    const up = await server();
    const mesh = planeWith(`      fault: { delay: { fixedDelayMs: 150, percent: 100 } }`, [up.url]);
    closers.push(mesh.close);
    const started = Date.now();
    expect((await mesh.call()).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(145);
  });

  it('is absorbed by retries: a 50% abort with retries on still gives ≥ 99% success', async () => {
    const up = await server();
    const mesh = planeWith(
      `      policy:
        # Ten tries: a request fails only if all ten are aborted (1 in 1024), so ≥ 99% holds with a wide margin.
        retries: { attempts: 9, retryOn: [5xx], backoff: { baseMs: 0, maxMs: 0 } }
      fault: { abort: { httpStatus: 503, percent: 50 } }`,
      [up.url],
    );
    closers.push(mesh.close);
    let ok = 0;
    for (let i = 0; i < 300; i++) if ((await mesh.call()).status === 200) ok++;
    expect(ok / 300).toBeGreaterThanOrEqual(0.99);
  });
});

describe('fallback', () => {
  it('answers the route default, marked, when the upstream fails or cannot be reached', async () => {
    const down = await server((_req, res) => (res.writeHead(503), res.end()));
    const mesh = planeWith(
      `      routes:
        - name: recommendations
          match: { pathPrefix: /recommendations }
          fallback: { status: 200, body: { items: [] } }`,
      [down.url],
    );
    closers.push(mesh.close);
    const res = await mesh.call('/recommendations/7');
    expect(res.status).toBe(200);
    expect(JSON.parse(res.text)).toEqual({ items: [] });
    expect(res.headers['x-meshcart-fallback']).toBe('upstream-503');
    // Other routes of the service are not degraded.
    expect((await mesh.call('/charges')).status).toBe(503);

    const unreachable = planeWith(
      `      routes:
        - name: recommendations
          match: { pathPrefix: /recommendations }
          fallback: { body: [] }`,
      ['http://127.0.0.1:9'],
    );
    closers.push(unreachable.close);
    const r2 = await unreachable.call('/recommendations');
    expect(r2.status).toBe(200);
    expect(r2.headers['x-meshcart-fallback']).toBe('MESH_ERR_UPSTREAM_CONNECT');
  });
});

describe('deadlines', () => {
  it("send the remaining deadline to the next hop, shortened by the caller's", async () => {
    const up = await server();
    const mesh = planeWith(`      policy: { timeoutMs: 5000 }`, [up.url]);
    closers.push(mesh.close);
    await mesh.call();
    expect(Number(up.requests[0]!.headers['x-meshcart-deadline-ms'])).toBeLessThanOrEqual(5000);
    expect(Number(up.requests[0]!.headers['x-meshcart-deadline-ms'])).toBeGreaterThan(4000);
    await mesh.call('/x', { headers: { 'x-meshcart-deadline-ms': '300' } });
    expect(Number(up.requests[1]!.headers['x-meshcart-deadline-ms'])).toBeLessThanOrEqual(300);
  });

  it("time out at the caller's deadline when it is shorter than the route's", async () => {
    const slow = await server((_req, res) => void setTimeout(() => res.end('late'), 1_000));
    const mesh = planeWith(`      policy: { timeoutMs: 5000 }`, [slow.url]);
    closers.push(mesh.close);
    const res = await mesh.call('/x', { headers: { 'x-meshcart-deadline-ms': '100' } });
    expect(res.status).toBe(504);
    expect(res.headers['x-meshcart-error']).toBe('MESH_ERR_UPSTREAM_TIMEOUT');
  });

  it('do not call the upstream at all once the deadline has passed', async () => {
    const up = await server();
    const mesh = planeWith(`      policy: { timeoutMs: 5000 }`, [up.url]);
    closers.push(mesh.close);
    const res = await mesh.call('/x', { headers: { 'x-meshcart-deadline-ms': '0' } });
    expect(res.status).toBe(504);
    expect(res.headers['x-meshcart-error']).toBe('MESH_ERR_DEADLINE_EXCEEDED');
    expect(up.requests).toHaveLength(0);
  });
});
