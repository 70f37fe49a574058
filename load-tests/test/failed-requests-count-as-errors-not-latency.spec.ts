// Failures (non-2xx, and requests the in-flight cap refused to send) are counted as errors, never as latency samples.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runClosedLoop, runOpenLoop, type Send } from '../src/lib/index';

let server: Server;
let pool: Pool;
let received = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    received++;
    if (req.url === '/fail') {
      res.writeHead(500).end('boom');
    } else if (req.url === '/slow') {
      setTimeout(() => res.end('ok'), 300);
    } else {
      res.end('ok');
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  pool = new Pool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, { connections: 32 });
});

afterAll(async () => {
  await pool.close();
  await new Promise((r) => server.close(r));
});

const get = (path: string) => async () => {
  const res = await pool.request({ path, method: 'GET' });
  await res.body.text();
  if (res.statusCode >= 300) throw new Error(`HTTP ${res.statusCode}`);
};

describe('errors', () => {
  it('open loop: every HTTP 500 is an error and only successes are in the histogram; warm-up is not counted', async () => {
    received = 0;
    const send: Send = (i) => get(i % 2 === 1 ? '/fail' : '/')();
    // 250 ms of warm-up (requests 0..49) then 500 ms measured (50..149) at 200 req/s.
    const r = await runOpenLoop({ rateRps: 200, durationMs: 500, warmupMs: 250, send, progress: false });
    expect(received).toBe(150);
    expect(r.sent).toBe(100);
    expect(r.count).toBe(50);
    expect(r.errors).toBe(50);
    expect(r.errorSamples).toEqual(['HTTP 500']);
    expect(r.uncorrected!.count).toBe(50);
  });

  it('open loop: requests refused by maxInFlight are errors, so the arrival rate is still accounted for', async () => {
    // 50 requests over 500 ms to a server that answers after 300 ms, with at most 5 in flight.
    const r = await runOpenLoop({ rateRps: 100, durationMs: 500, maxInFlight: 5, send: get('/slow'), progress: false });
    expect(r.count + r.errors).toBe(50);
    expect(r.count).toBeGreaterThanOrEqual(5);
    expect(r.errors).toBeGreaterThanOrEqual(10);
    expect(r.errorSamples).toEqual(['not sent: maxInFlight (5) reached']);
    expect(r.p50Us).toBeGreaterThanOrEqual(250_000);
  });

  it('open loop: a send that never settles becomes an error after drainTimeoutMs instead of hanging the run', async () => {
    const r = await runOpenLoop({ rateRps: 100, durationMs: 100, drainTimeoutMs: 200, send: () => new Promise(() => {}), progress: false });
    expect(r.count).toBe(0);
    expect(r.errors).toBe(10);
    expect(r.errorSamples[0]).toMatch(/no response within drainTimeoutMs/);
  });

  it('closed loop: a server failing every request yields errors and an empty latency summary', async () => {
    const r = await runClosedLoop({ concurrency: 2, durationMs: 300, send: get('/fail'), progress: false });
    expect(r.errors).toBeGreaterThan(0);
    expect(r.errors).toBe(r.sent);
    expect(r.count).toBe(0);
    expect(r.p99Us).toBe(0);
    expect(r.achievedRps).toBe(0);
    expect(r.errorSamples).toEqual(['HTTP 500']);
  });
});
