// The dashboard plugin on a real control plane with real proxies: its stream is a guarded read, proxies are scraped once per interval whatever the watchers, and only while watched.
import { DashboardSnapshot } from '@meshcart/control-plane-api';
import { makeTempDir } from '@meshcart/testing';
import { Value } from '@sinclair/typebox/value';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp } from '../src/app';
import { access, asOperator, asWorkload } from './credentials';
import { deployDir, startProxy } from './loopback-mesh';

const INTERVAL_MS = 200;
const dirs = [makeTempDir('meshcart-dash-ca-'), makeTempDir('meshcart-dash-site-')];
const [caDir, site] = dirs as [ReturnType<typeof makeTempDir>, ReturnType<typeof makeTempDir>];
let app: ReturnType<typeof buildApp>;
let cp: string;
let counting: { server: Server; hits: number };
let hanging: Server;

/** Reads `n` snapshots off one stream, then closes it. */
async function snapshots(n: number): Promise<DashboardSnapshot[]> {
  const res = await request(`${cp}/api/v1/dashboard/stream`, { headers: asOperator });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
  const out: DashboardSnapshot[] = [];
  let buffer = '';
  for await (const chunk of res.body) {
    buffer += String(chunk);
    let end: number;
    while ((end = buffer.indexOf('\n\n')) !== -1) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (/^event: snapshot$/m.test(block) && data) out.push(JSON.parse(data) as DashboardSnapshot);
    }
    if (out.length >= n) break;
  }
  res.body.destroy();
  return out;
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as { port: number }).port}`;
}

async function register(instance: string, adminUrl: string) {
  const res = await request(`${cp}/api/v1/proxies/${instance}`, {
    method: 'PUT',
    headers: { ...asWorkload('payment-service'), 'content-type': 'application/json' },
    body: JSON.stringify({ service: 'payment-service', instance, mode: 'sidecar', adminUrl, labels: { version: 'v1' } }),
  });
  expect(res.statusCode).toBe(200);
  await res.body.dump();
}

beforeAll(async () => {
  writeFileSync(join(site.path, 'index.html'), '<!doctype html><title>built dashboard</title>');
  app = buildApp({
    configDir: deployDir,
    profile: 'optimized',
    logger: false,
    caDir: caDir.path,
    ...access,
    lockReads: true,
    dashboardDir: site.path,
    dashboardIntervalMs: INTERVAL_MS,
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  cp = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  const order = await startProxy(cp, { service: 'order-service', instance: 'order-service-1' });
  // A proxy's admin port that counts its scrapes, answering what a real proxy's /metrics says; and one that never answers.
  const real = await (await request(`http://127.0.0.1:${order.adminPort}/metrics`)).body.text();
  counting = {
    hits: 0,
    server: createServer((req, res) => {
      if (req.url === '/metrics') counting.hits++;
      res.end(req.url === '/metrics' ? real : '{"clusters":[]}');
    }),
  };
  await register('payment-service-1', await listen(counting.server));
  hanging = createServer(() => undefined);
  await register('payment-service-9', await listen(hanging));
});

afterAll(async () => {
  await app.close();
  counting.server.close();
  hanging.closeAllConnections();
  hanging.close();
  for (const d of dirs) d.remove();
});

describe('the dashboard stream', () => {
  it('is a read like any other: refused without a credential when reads are locked', async () => {
    const res = await request(`${cp}/api/v1/dashboard/stream`);
    expect(res.statusCode).toBe(401);
    expect(((await res.body.json()) as { error: { code: string } }).error.code).toMatch(/CREDENTIAL/);
  });

  it('scrapes nothing until someone watches, then each proxy once per interval for two watchers at once, and stops when they leave', async () => {
    expect(counting.hits).toBe(0);
    const [a, b] = await Promise.all([snapshots(5), snapshots(5)]);
    const rounds = Math.max(a!.at(-1)!.seq, b!.at(-1)!.seq);
    // One scrape per round (a round may be under way as the streams close), never one per watcher.
    expect(counting.hits).toBeGreaterThanOrEqual(4);
    expect(counting.hits).toBeLessThanOrEqual(rounds + 1);
    const after = counting.hits;
    await new Promise((r) => setTimeout(r, INTERVAL_MS * 4));
    expect(counting.hits).toBeLessThanOrEqual(after + 1);
  });

  it('sends snapshots that match the contract: every proxy with its versions, a timed-out scrape named, the graph', async () => {
    // Each test's proxies are closed after it (loopback-mesh.ts): this one's own.
    await startProxy(cp, { service: 'order-service', instance: 'order-service-1' });
    const [, last] = await snapshots(2);
    expect(Value.Errors(DashboardSnapshot, last).First()).toBeUndefined();
    const byInstance = new Map(last!.proxies.map((p) => [p.instance, p]));
    const order = byInstance.get('order-service-1')!;
    expect(order.configVersion).toBe(order.expectedVersion);
    expect(order.acks.resources?.acked).toBe(true);
    expect(order.scrapeError).toBeNull();
    expect(byInstance.get('payment-service-1')).toMatchObject({ scrapeError: null, labels: { version: 'v1' } });
    expect(byInstance.get('payment-service-9')!.scrapeError).toMatch(/timeout|abort/i);
    expect(last!.nodes.map((n) => n.id)).toEqual(
      expect.arrayContaining(['service:order-service', 'instance:order-service-1', 'service:payment-service', 'instance:payment-service-9']),
    );
    expect(last!.profile).toBe('optimized');
  });

  it('serves the built dashboard at the root, and a page saying how to build it when it is missing', async () => {
    const built = await request(`${cp}/`);
    expect(built.statusCode).toBe(200);
    expect(await built.body.text()).toContain('built dashboard');
    const bare = buildApp({
      configDir: deployDir,
      profile: 'optimized',
      logger: false,
      caDir: caDir.path,
      ...access,
      dashboardDir: join(site.path, 'none'),
    });
    try {
      const res = await bare.inject({ url: '/' });
      expect(res.statusCode).toBe(503);
      expect(res.headers['content-type']).toMatch(/text\/html/);
      expect(res.body).toContain('npx nx build dashboard');
    } finally {
      await bare.close();
    }
  });
});
