// Lab 10: the case the project comes from, at laptop scale — tune the baseline until inter-service latency
// falls to about 0.4× and throughput rises by 30% or more, measured side by side (docs/labs/10-the-whole-case.md).
import { diffConfigs, type MeshConfig } from '@meshcart/mesh-config';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { atLeast, atMost, round, shown, verdict, type Lab } from './lab';
import { grew, type LabMesh, type Scrape } from './lab-mesh';

const LAB = '10-the-whole-case';
/** The article's claims with room for a laptop: latency at most 0.7× the baseline's (5 → 2 ms is 0.4×), throughput at least 1.3×. */
const LATENCY_GOAL = 0.7;
const THROUGHPUT_GOAL = 1.3;

interface Run {
  config: string;
  /** Mean time of a hop as the calling proxy measured it (gateway → service, service → service), ms. */
  interServiceMs: number;
  /** Requests per second through the gateway with 8 callers back to back. */
  throughputRps: number;
  endToEndMs: number;
  connectionsPerRequest: number;
}

/** Sum and count of hop durations measured by calling proxies (edge and outbound). */
function hopSeconds(before: Scrape, after: Scrape): { sum: number; count: number } {
  let sum = 0;
  let count = 0;
  for (const direction of ['edge', 'outbound']) {
    sum += grew(before, after, 'mesh_request_duration_seconds_sum', { direction });
    count += grew(before, after, 'mesh_request_duration_seconds_count', { direction });
  }
  return { sum, count };
}

const browse = (i: number) => ({ path: i % 4 === 3 ? '/api/products?pageSize=5' : `/api/products/p-00${(i % 5) + 1}` });

/**
 * The config in force, measured after a short warm-up: throughput flat out, then latency at `rate`
 * (a rate the baseline keeps up with, so the figure is the hops' time rather than time in a queue).
 */
async function measure(mesh: LabMesh, name: string, rate: (throughputRps: number) => number): Promise<Run> {
  await mesh.traffic({ seconds: 1, concurrency: 4, label: `${name}: warming up`, next: browse });
  const before = await mesh.scrape();
  const flat = await mesh.traffic({ seconds: mesh.seconds(6), concurrency: 8, label: `${name}: throughput, 8 callers`, next: browse });
  const mid = await mesh.scrape();
  const rps = rate(flat.rps);
  const paced = await mesh.traffic({ seconds: mesh.seconds(6), rate: rps, label: `${name}: latency at ${rps} requests/s`, next: browse });
  const after = await mesh.scrape();
  const hops = hopSeconds(mid, after);
  return {
    config: name,
    interServiceMs: hops.count ? (1000 * hops.sum) / hops.count : NaN,
    throughputRps: flat.rps,
    endToEndMs: paced.meanMs,
    connectionsPerRequest: grew(before, after, 'mesh_tcp_connections_opened_total') / Math.max(1, paced.count + flat.count),
  };
}

const bar = (value: number, max: number, width = 40) => '█'.repeat(Math.max(1, Math.round((value / max) * width)));

export const theWholeCase: Lab = {
  id: LAB,
  title: 'The whole case: from the baseline to 5 ms → 2 ms and +30% throughput',
  minutes: 20,
  needs: 'npm start',

  async start(mesh) {
    const baseline = await mesh.profile('baseline');
    await mesh.apply(baseline, `meshctl lab start ${LAB}`);
    return {
      changes: ['the baseline profile is in force (deploy/mesh/baseline.yaml): the "before" of the case'],
      config: baseline,
    };
  },

  async check(mesh) {
    // Side by side in one run: the baseline, then your config, on the same processes a moment apart.
    const yours = await mesh.config();
    const baseline = await mesh.profile('baseline');
    const changed = diffConfigs(baseline, yours.config).filter((c) => c.path !== 'metadata.name');
    mesh.progress(`your config (version ${yours.version}) differs from the baseline in ${changed.length} knob(s)`);
    if (changed.length === 0)
      return {
        pass: false,
        measured: [atLeast('knobs changed from the baseline', 0, 1, '', 0)],
        stillWrong: [
          `the config in force (version ${yours.version}) is the baseline: change its knobs in ${join(mesh.dir, `${LAB}.yaml`)} and meshctl apply -f it (docs/labs/${LAB}.md)`,
        ],
      };
    mesh.progress('measuring the baseline, then your config');
    await mesh.apply(baseline, `meshctl lab check ${LAB}: the baseline, for comparison`);
    let base: Run;
    let rate = 0;
    try {
      base = await measure(mesh, 'baseline', (tp) => (rate = Math.max(5, Math.min(40, Math.round(tp * 0.4)))));
    } finally {
      await mesh.apply(yours.config as MeshConfig, `meshctl lab check ${LAB}: your config again`);
    }
    const mine = await measure(mesh, 'yours', () => rate);
    const latency = mine.interServiceMs / base.interServiceMs;
    const throughput = mine.throughputRps / base.throughputRps;

    const rows = [base, mine];
    const maxMs = Math.max(...rows.map((r) => r.interServiceMs));
    const maxRps = Math.max(...rows.map((r) => r.throughputRps));
    const chart = [
      'inter-service latency (mean per hop)',
      ...rows.map((r) => `  ${r.config.padEnd(9)} ${bar(r.interServiceMs, maxMs)} ${round(r.interServiceMs)} ms`),
      'throughput (8 callers)',
      ...rows.map((r) => `  ${r.config.padEnd(9)} ${bar(r.throughputRps, maxRps)} ${Math.round(r.throughputRps)} req/s`),
    ];
    mkdirSync(mesh.dir, { recursive: true });
    const report = join(mesh.dir, `${LAB}-report.md`);
    writeFileSync(
      report,
      [
        `# The case on this laptop (${new Date().toISOString()})`,
        '',
        '| config | inter-service mean ms | throughput req/s | end-to-end mean ms | connections per request |',
        '|---|---|---|---|---|',
        ...rows.map(
          (r) =>
            `| ${r.config} | ${round(r.interServiceMs)} | ${Math.round(r.throughputRps)} | ${round(r.endToEndMs)} | ${round(r.connectionsPerRequest, 3)} |`,
        ),
        '',
        `Latency ×${round(latency)} (goal ≤ ${LATENCY_GOAL}), throughput ×${round(throughput)} (goal ≥ ${THROUGHPUT_GOAL}).`,
        '',
        '```',
        ...chart,
        '```',
        '',
        'Knobs changed from the baseline:',
        '',
        ...changed.map((c) => `- \`${c.path}\`: ${JSON.stringify(c.from)} → ${JSON.stringify(c.to)}`),
        '',
      ].join('\n'),
    );

    const result = verdict(
      [
        atMost('inter-service latency, yours ÷ baseline', latency, LATENCY_GOAL),
        atLeast('throughput, yours ÷ baseline', throughput, THROUGHPUT_GOAL),
        shown('inter-service mean, baseline', base.interServiceMs, 'ms'),
        shown('inter-service mean, yours', mine.interServiceMs, 'ms'),
        shown('throughput, baseline', base.throughputRps, 'req/s', 0),
        shown('throughput, yours', mine.throughputRps, 'req/s', 0),
        shown('knobs changed from the baseline', changed.length),
      ],
      (m) =>
        m.name.startsWith('inter-service')
          ? `inter-service latency is ×${round(latency)} of the baseline's (goal ≤ ${LATENCY_GOAL}): the biggest knobs are connection reuse (maxRequestsPerConnection, lab 02) and the workload key type (mtls.keyType, lab 03)`
          : `throughput is ×${round(throughput)} of the baseline's (goal ≥ ${THROUGHPUT_GOAL}): look at what each request costs the proxies (connections, handshakes, access-log writes, route matching) — meshctl diff baseline optimized lists every knob`,
    );
    return { ...result, notes: [...chart, `report: ${report}`] };
  },

  async solve(mesh) {
    await mesh.apply(await mesh.profile('optimized'), `meshctl lab solve ${LAB}`);
    return ['the optimized profile is in force (deploy/mesh/optimized.yaml): the "after" of the case'];
  },
};
