// How long a config change takes to reach every proxy, and what the control plane's memory does, with N proxies subscribed.
import { ConfigApplied, ContractCheck, ProxyList } from '@meshcart/control-plane-api';
import { ManagedProcess } from '@meshcart/service-kit';
import { ControlPlaneClient } from '@meshcart/sidecar';
import Table from 'cli-table3';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { parse, stringify } from 'yaml';
import { readProcessStats } from './lib';

const { values } = parseArgs({ options: { proxies: { type: 'string' }, rounds: { type: 'string' }, quick: { type: 'boolean' } } });
const proxies = Number(values.proxies ?? 200);
const rounds = Number(values.rounds ?? (values.quick ? 2 : 5));
const services = ['user-service', 'product-service', 'order-service', 'payment-service'];
// Each service's join credential, which its simulated proxies present; the operator's, for the config changes.
const joinTokens = Object.fromEntries(services.map((s) => [s, `mcj_${randomBytes(24).toString('base64url')}`]));
const operatorToken = `mco_${randomBytes(32).toString('base64url')}`;

const dir = mkdtempSync(join(tmpdir(), 'meshcart-push-'));
copyFileSync('deploy/mesh/optimized.yaml', join(dir, 'optimized.yaml'));
const cp = await ManagedProcess.start({
  name: 'control-plane',
  entry: 'apps/control-plane/src/main.ts',
  env: {
    PORT: '0',
    LOG_LEVEL: 'warn',
    MESH_CONFIG_DIR: dir,
    MESH_PROFILE: 'optimized',
    MESH_CA_DIR: join(dir, 'ca'),
    MESH_CONFIG_STATE_DIR: join(dir, 'state'),
    MESH_LEASE_TTL_MS: '60000',
    MESH_TLS_PORT: '0',
    MESH_OPERATOR_TOKEN: operatorToken,
    MESH_JOIN_CREDENTIALS: Object.entries(joinTokens)
      .map(([svc, token]) => `${svc}=${token}`)
      .join(','),
  },
});
const url = `http://127.0.0.1:${cp.ports['http']}`;
const rssMb = async () => (await readProcessStats(cp.pid!)).rssMb;
const rssBefore = await rssMb();

// Simulated proxies: the real client of the push protocol, without a data plane behind it.
const arrivals = new Map<string, number>();
let target = '';
const clients = Array.from({ length: proxies }, (_, i) => {
  const versions: { resources?: string; endpoints?: string } = {};
  const client = new ControlPlaneClient({
    urls: [url],
    registration: {
      service: services[i % services.length]!,
      instance: `sim-${i}`,
      mode: 'sidecar',
      endpointUrl: `http://127.0.0.1:${20_000 + i}`,
      mtls: true,
      labels: {},
    },
    join: { token: joinTokens[services[i % services.length]!]! },
    onResources: (s) => {
      versions.resources = s.version;
      if (s.resources.listeners && target && JSON.stringify(s.resources).includes(`"timeoutMs":${target}`))
        arrivals.set(`sim-${i}`, performance.now());
    },
    onEndpoints: (s) => void (versions.endpoints = s.version),
    versions: () => versions,
    heartbeatIntervalMs: 10_000,
  });
  client.start();
  return client;
});

const PROXIES = new ContractCheck(ProxyList);
const APPLIED = new ContractCheck(ConfigApplied);

async function proxyList() {
  return PROXIES.verify(await (await request(`${url}/api/v1/proxies`)).body.json(), 'GET /api/v1/proxies');
}
process.stdout.write(`subscribing ${proxies} proxies ... `);
for (;;) {
  const list = await proxyList();
  if (list.length === proxies && list.every((p) => p.acks.resources?.acked)) break;
  await new Promise((r) => setTimeout(r, 100));
}
console.log('all connected and ACKed');
const rssSubscribed = await rssMb();

const base = parse(readFileSync('deploy/mesh/optimized.yaml', 'utf8'));
const results: { round: number; allReceivedMs: number; p50Ms: number; allAckedMs: number }[] = [];
for (let round = 1; round <= rounds; round++) {
  arrivals.clear();
  const before = new Map((await proxyList()).map((p) => [p.instance, p.configVersion]));
  target = String(4000 + round);
  base.spec.defaults.policy.timeoutMs = Number(target);
  const t0 = performance.now();
  const res = await request(`${url}/api/v1/config`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${operatorToken}` },
    body: JSON.stringify({ yaml: stringify(base), source: 'bench:push' }),
  });
  const { version } = APPLIED.verify(await res.body.json(), 'POST /api/v1/config');
  while (arrivals.size < proxies) await new Promise((r) => setTimeout(r, 1));
  const times = [...arrivals.values()].map((t) => t - t0).sort((a, b) => a - b);
  // Done when the control plane has every proxy's ACK for its new resources (each service has its own version).
  for (;;) {
    const list = await proxyList();
    if (list.every((p) => p.acks.resources?.acked && p.configVersion !== before.get(p.instance))) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  const allAckedMs = performance.now() - t0;
  results.push({ round, allReceivedMs: times[times.length - 1]!, p50Ms: times[Math.floor(times.length / 2)]!, allAckedMs });
  console.log(`  round ${round}/${rounds}: version ${version} reached all ${proxies} proxies in ${times[times.length - 1]!.toFixed(1)} ms`);
}

const table = new Table({ head: ['round', 'p50 arrival ms', 'last arrival ms', 'all ACKed ms'], style: { head: [], border: [] } });
for (const r of results) table.push([r.round, r.p50Ms.toFixed(1), r.allReceivedMs.toFixed(1), r.allAckedMs.toFixed(1)]);
console.log(table.toString());
const rssAfter = await rssMb();
const mb = (v: number) => `${v.toFixed(1)} MB`;
console.log(`control plane RSS: ${mb(rssBefore)} idle, ${mb(rssSubscribed)} with ${proxies} proxies, ${mb(rssAfter)} after ${rounds} pushes`);
await Promise.all(clients.map((c) => c.stop()));
await cp.stop();
rmSync(dir, { recursive: true, force: true });
