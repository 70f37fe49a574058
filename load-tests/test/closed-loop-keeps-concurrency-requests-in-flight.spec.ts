// Closed loop: each of `concurrency` workers sends its next request as soon as the last one is answered.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runClosedLoop } from '../src/lib/index';

let server: Server;
let pool: Pool;
let received = 0;
let active = 0;
let maxActive = 0;

beforeAll(async () => {
  server = createServer((_req, res) => {
    received++;
    maxActive = Math.max(maxActive, ++active);
    setTimeout(() => {
      active--;
      res.end('ok');
    }, 10);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  pool = new Pool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, { connections: 16 });
});

afterAll(async () => {
  await pool.close();
  await new Promise((r) => server.close(r));
});

it('keeps exactly `concurrency` requests in flight and counts only those after warm-up', async () => {
  const r = await runClosedLoop({
    concurrency: 4,
    durationMs: 600,
    warmupMs: 100,
    progress: false,
    send: async () => {
      const res = await pool.request({ path: '/', method: 'GET' });
      await res.body.text();
    },
  });
  expect(maxActive).toBe(4);
  expect(r.errors).toBe(0);
  expect(r.count).toBe(r.sent);
  expect(received).toBeGreaterThan(r.count); // warm-up requests reached the server but were not counted
  // Every request takes ≥ 10 ms, so 4 workers cannot exceed 4 × 600 / 10 in the window.
  expect(r.count).toBeGreaterThanOrEqual(20);
  expect(r.count).toBeLessThanOrEqual(4 * 60 + 4);
  expect(r.p50Us).toBeGreaterThanOrEqual(9_000);
  expect(r.achievedRps).toBeCloseTo(r.count / r.durationS, 6);
  expect(r.durationS).toBeGreaterThanOrEqual(0.6);
});
