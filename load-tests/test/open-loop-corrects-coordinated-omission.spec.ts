// A one-second stall shows up for every request that should have been sent during it, not just the one that hit it.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runClosedLoop, runOpenLoop, type Send } from '../src/lib/index';

let server: Server;
let pool: Pool;
let received = 0;
let stallAt = Infinity;

function busyWait(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until);
}

beforeAll(async () => {
  // The server shares the generator's process, so its stall freezes the generator too: the requests due
  // meanwhile leave late, and only measuring from their intended time reveals what users would have seen.
  server = createServer((_req, res) => {
    if (++received === stallAt) busyWait(1000);
    res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  pool = new Pool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, { connections: 16 });
});

afterAll(async () => {
  await pool.close();
  await new Promise((r) => server.close(r));
});

const send: Send = async () => {
  const res = await pool.request({ path: '/', method: 'GET' });
  await res.body.text();
  if (res.statusCode >= 300) throw new Error(`HTTP ${res.statusCode}`);
};

// The stall is long (1 s) so that the bounds below stay far from what a busy shared machine adds on its own.
describe('coordinated omission', () => {
  it('open loop: the stall lands in p90 for the requests queued behind it; latency from the actual send hides it', async () => {
    received = 0;
    stallAt = 100; // about 1 s into the run
    const r = await runOpenLoop({ rateRps: 100, durationMs: 3000, send, progress: false });
    expect(r.count).toBe(300);
    expect(r.errors).toBe(0);
    expect(received).toBe(300);
    // ~100 requests were due during the stall; about 60 of them (20%) waited ≥ 400 ms for it.
    expect(r.maxUs).toBeGreaterThanOrEqual(900_000);
    expect(r.p90Us).toBeGreaterThanOrEqual(400_000);
    // The same run timed from the actual send: only the request that hit the stall (and any in flight) saw it.
    expect(r.uncorrected!.maxUs).toBeGreaterThanOrEqual(900_000);
    expect(r.uncorrected!.p90Us).toBeLessThan(400_000);
  });

  it('closed loop: the same stall is recorded once, so p90 hides it', async () => {
    received = 0;
    stallAt = 50;
    const r = await runClosedLoop({ concurrency: 1, durationMs: 2500, send, progress: false });
    expect(received).toBeGreaterThan(50);
    expect(r.count).toBeGreaterThan(20); // > 10 samples, so one stalled sample is beyond p90
    expect(r.maxUs).toBeGreaterThanOrEqual(900_000);
    expect(r.p90Us).toBeLessThan(400_000);
  });
});
