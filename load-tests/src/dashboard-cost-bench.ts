// What an open dashboard costs the proxies: their CPU with and without a dashboard stream open, on a whole local mesh, in alternating windows.
//
//   npm run bench:dashboard -- [--window 20] [--rounds 2] [--rate 10] [--json FILE]
//
// The control plane scrapes every proxy's /metrics each interval (2 s) and /config_dump every fifth
// round while at least one dashboard watches; this measures that from the proxies' side (pidusage).
import { ephemeralPlan, LocalMesh } from '@meshcart/mesh-launcher';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { request } from 'undici';
import { printTable, ProcessSampler } from './lib';

const { values } = parseArgs({
  options: { window: { type: 'string' }, rounds: { type: 'string' }, rate: { type: 'string' }, json: { type: 'string' } },
});
const windowS = Number(values.window ?? 20);
const rounds = Number(values.rounds ?? 2);
const rate = Number(values.rate ?? 10);

/** A steady trickle of catalog reads, the same in every window, so the proxies are not idle. */
function trickle(gatewayUrl: string): () => void {
  if (rate <= 0) return () => undefined;
  const timer = setInterval(
    () =>
      void request(`${gatewayUrl}/api/products?page=1`).then(
        (r) => r.body.dump(),
        () => undefined,
      ),
    1000 / rate,
  );
  return () => clearInterval(timer);
}

/** Opens the dashboard's stream and reads it until closed; returns what closes it and how many snapshots came. */
async function watch(controlPlaneUrl: string): Promise<{ close: () => Promise<number> }> {
  const res = await request(`${controlPlaneUrl}/api/v1/dashboard/stream`);
  if (res.statusCode !== 200) throw new Error(`the dashboard stream answered ${res.statusCode}`);
  let snapshots = 0;
  const reading = (async () => {
    for await (const chunk of res.body) snapshots += (String(chunk).match(/^event: snapshot$/gm) ?? []).length;
  })().catch(() => undefined);
  return {
    close: async () => {
      res.body.destroy();
      await reading;
      return snapshots;
    },
  };
}

const dir = mkdtempSync(join(tmpdir(), 'meshcart-dashboard-cost-'));
console.log(`starting a local mesh (data in ${dir}) ...`);
const mesh = await LocalMesh.start({ plan: await ephemeralPlan('127.0.0.1'), dataDir: join(dir, 'data'), logLevel: 'warn' });
const proxies = mesh.processes.filter((p) => p.role === 'sidecar' || p.role === 'gateway').map((p) => ({ name: p.proc.name, pid: p.proc.pid! }));
const stopTraffic = trickle(mesh.gatewayUrl);
const totals = { without: new Map<string, number>(), with: new Map<string, number>() };
let snapshots = 0;
try {
  await new Promise((r) => setTimeout(r, 3_000)); // the trickle's connections open before anything is measured
  for (let round = 1; round <= rounds; round++) {
    for (const phase of ['without', 'with'] as const) {
      const watcher = phase === 'with' ? await watch(mesh.controlPlaneUrl) : undefined;
      const sampler = new ProcessSampler(proxies.map((p) => p.pid));
      await sampler.start();
      await new Promise((r) => setTimeout(r, windowS * 1000));
      const { perPid } = await sampler.stop();
      if (watcher) snapshots += await watcher.close();
      perPid.forEach((p, i) => totals[phase].set(proxies[i]!.name, (totals[phase].get(proxies[i]!.name) ?? 0) + p.cpuSeconds));
      console.log(`  round ${round}/${rounds}, ${phase} a dashboard: ${windowS} s measured`);
    }
  }
} finally {
  stopTraffic();
  await mesh.stop();
  rmSync(dir, { recursive: true, force: true });
}

/** Share of one core over the measured time. */
const pct = (cpuSeconds: number) => (cpuSeconds / (windowS * rounds)) * 100;
const rows = proxies.map((p) => {
  const without = pct(totals.without.get(p.name) ?? 0);
  const withDash = pct(totals.with.get(p.name) ?? 0);
  return { proxy: p.name, withoutPct: without, withPct: withDash, addedPct: withDash - without };
});
const mean = (k: 'withoutPct' | 'withPct' | 'addedPct') => rows.reduce((s, r) => s + r[k], 0) / rows.length;
const all = { proxy: 'mean per proxy', withoutPct: mean('withoutPct'), withPct: mean('withPct'), addedPct: mean('addedPct') };
const f = (v: number) => `${v.toFixed(2)}%`;
printTable(
  'Proxy CPU with and without an open dashboard (share of one core)',
  ['proxy', 'CPU without dashboard', 'CPU with dashboard', 'added'],
  [...rows, all].map((r) => [r.proxy, f(r.withoutPct), f(r.withPct), f(r.addedPct)]),
);
console.log(`${rounds} × ${windowS} s per phase, ${rate} req/s of catalog reads throughout; ${snapshots} snapshots received; % of one core.`);
if (values.json) writeFileSync(values.json, `${JSON.stringify({ windowS, rounds, rate, snapshots, rows, mean: all }, null, 2)}\n`);
