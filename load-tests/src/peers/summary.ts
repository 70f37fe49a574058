// Turns each peer's per-round samples into medians, the targets, a table, markdown and chart specs.
import type { RunResult } from '../lib';
import type { PeerName } from './peer';

export interface RoundSample {
  round: number;
  open: RunResult;
  closed: RunResult;
  /** Per proxy on the path: max RSS over the fixed-rate window, and CPU seconds spent in it. */
  rssMb: number[];
  cpuSeconds: number[];
  /** Wall time the proxies were sampled for. */
  windowS: number;
}

export interface PeerRecord {
  name: PeerName;
  proxies: number;
  setup: string;
  skipped?: string;
  samples: RoundSample[];
}

export interface PeerSummary {
  name: PeerName;
  proxies: number;
  setup: string;
  /** Added by one proxy (the path's added latency over its proxies); proxyless: added by the in-process mesh. */
  addedLatencyUs: { p50: number; p99: number };
  /** Added by the whole path over direct. */
  addedPathLatencyUs: { p50: number; p99: number };
  /** Measured client → upstream latency at the fixed rate. */
  pathLatencyUs: { p50: number; p99: number };
  maxThroughputRps: number;
  /** Per proxy; null when the path has no proxy process. */
  rssMb: number | null;
  cpuCoresPer1kRps: number | null;
  errors: number;
  errorSamples: string[];
  rounds: {
    round: number;
    pathP50Us: number;
    pathP99Us: number;
    addedP50Us: number;
    addedP99Us: number;
    maxThroughputRps: number;
    achievedRps: number;
    rssMb: number[];
    cpuCoresPer1kRps: number | null;
    errors: number;
  }[];
}

export type SkippedPeer = { name: PeerName; skipped: string };

export interface Target {
  name: string;
  pass: boolean | null;
  detail: string;
}

/** Median of the finite values: a round in which every request failed has no latency to count. */
export function median(xs: number[]): number {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

const round1 = (x: number) => Math.round(x * 10) / 10;
const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** Added latency is taken against direct's figure of the same round, then the median over rounds. */
export function summarize(records: PeerRecord[], rateRps: number): (PeerSummary | SkippedPeer)[] {
  const direct = records.find((r) => r.name === 'direct' && !r.skipped);
  const directIn = (round: number) => direct?.samples.find((s) => s.round === round)?.open;
  return records.map((rec): PeerSummary | SkippedPeer => {
    if (rec.skipped) return { name: rec.name, skipped: rec.skipped };
    const perHop = Math.max(1, rec.proxies);
    const rounds = rec.samples.map((s) => {
      const d = directIn(s.round);
      const answered = s.open.count > 0;
      const addedP50 = d && answered ? s.open.p50Us - d.p50Us : NaN;
      const addedP99 = d && answered ? s.open.p99Us - d.p99Us : NaN;
      // Per the requests actually served: the same as --rate unless the path could not keep up with it.
      const served = s.open.achievedRps > 0 ? Math.min(rateRps, s.open.achievedRps) : rateRps;
      const cpu = rec.proxies > 0 && s.windowS > 0 ? s.cpuSeconds.reduce((a, b) => a + b, 0) / s.windowS / (served / 1000) / rec.proxies : null;
      return {
        round: s.round,
        pathP50Us: answered ? s.open.p50Us : NaN,
        pathP99Us: answered ? s.open.p99Us : NaN,
        addedP50Us: addedP50,
        addedP99Us: addedP99,
        maxThroughputRps: s.closed.count > 0 ? Math.round(s.closed.achievedRps) : NaN,
        achievedRps: round1(s.open.achievedRps),
        rssMb: s.rssMb.map(round1),
        cpuCoresPer1kRps: cpu === null ? null : round3(cpu),
        errors: s.open.errors + s.closed.errors,
      };
    });
    const rss = rec.proxies > 0 ? median(rec.samples.map((s) => Math.max(...s.rssMb))) : null;
    const cpus = rounds.map((r) => r.cpuCoresPer1kRps).filter((c): c is number => c !== null);
    return {
      name: rec.name,
      proxies: rec.proxies,
      setup: rec.setup,
      addedLatencyUs: {
        p50: round1(median(rounds.map((r) => r.addedP50Us)) / perHop),
        p99: round1(median(rounds.map((r) => r.addedP99Us)) / perHop),
      },
      addedPathLatencyUs: { p50: round1(median(rounds.map((r) => r.addedP50Us))), p99: round1(median(rounds.map((r) => r.addedP99Us))) },
      pathLatencyUs: { p50: round1(median(rounds.map((r) => r.pathP50Us))), p99: round1(median(rounds.map((r) => r.pathP99Us))) },
      maxThroughputRps: Math.round(median(rounds.map((r) => r.maxThroughputRps))),
      rssMb: rss === null ? null : round1(rss),
      cpuCoresPer1kRps: rec.proxies > 0 && cpus.length ? round3(median(cpus)) : null,
      errors: rounds.reduce((a, r) => a + r.errors, 0),
      errorSamples: [...new Set(rec.samples.flatMap((s) => [...s.open.errorSamples, ...s.closed.errorSamples]))].slice(0, 5),
      rounds,
    };
  });
}

const isRun = (r: PeerSummary | SkippedPeer | undefined): r is PeerSummary => !!r && !('skipped' in r);

/** The targets, printed as pass/fail (null: a peer it needs was not measured). */
export function targets(runs: (PeerSummary | SkippedPeer)[], rateRps: number): Target[] {
  const get = (name: PeerName) => {
    const r = runs.find((x) => x.name === name);
    return isRun(r) ? r : undefined;
  };
  const out: Target[] = [];
  const full = get('meshcart-sidecar-full');
  const fastify = get('fastify-http-proxy');
  out.push(
    full && fastify
      ? {
          name: 'meshcart-sidecar-full added p50 per hop ≤ fastify-http-proxy added p50',
          pass: full.addedLatencyUs.p50 <= fastify.addedLatencyUs.p50,
          detail: `${full.addedLatencyUs.p50} µs vs ${fastify.addedLatencyUs.p50} µs`,
        }
      : { name: 'meshcart-sidecar-full added p50 per hop ≤ fastify-http-proxy added p50', pass: null, detail: 'not measured' },
  );
  const proxyless = get('meshcart-proxyless');
  const direct = get('direct');
  out.push(
    proxyless && direct
      ? {
          name: 'meshcart-proxyless p50 ≤ 1.15 × direct p50',
          pass: proxyless.pathLatencyUs.p50 <= 1.15 * direct.pathLatencyUs.p50,
          detail: `${proxyless.pathLatencyUs.p50} µs vs ${round1(1.15 * direct.pathLatencyUs.p50)} µs (direct ${direct.pathLatencyUs.p50} µs; ratio ${round3(proxyless.pathLatencyUs.p50 / direct.pathLatencyUs.p50)})`,
        }
      : { name: 'meshcart-proxyless p50 ≤ 1.15 × direct p50', pass: null, detail: 'not measured' },
  );
  const sidecars = (['meshcart-sidecar', 'meshcart-sidecar-mtls', 'meshcart-sidecar-full'] as const).map(get).filter(isRun);
  out.push(
    sidecars.length
      ? {
          name: `sidecar RSS ≤ 80 MB at ${rateRps} rps`,
          pass: sidecars.every((s) => (s.rssMb ?? Infinity) <= 80),
          detail: sidecars.map((s) => `${s.name} ${s.rssMb} MB`).join(', '),
        }
      : { name: `sidecar RSS ≤ 80 MB at ${rateRps} rps`, pass: null, detail: 'not measured' },
  );
  const mtls = get('meshcart-sidecar-mtls');
  out.push(
    mtls && mtls.cpuCoresPer1kRps !== null
      ? {
          name: 'meshcart-sidecar-mtls CPU ≤ 0.3 cores per 1000 rps (per sidecar)',
          pass: mtls.cpuCoresPer1kRps <= 0.3,
          detail: `${mtls.cpuCoresPer1kRps} cores`,
        }
      : { name: 'meshcart-sidecar-mtls CPU ≤ 0.3 cores per 1000 rps (per sidecar)', pass: null, detail: 'not measured' },
  );
  return out;
}

export function targetLine(t: Target): string {
  return `${t.pass === null ? 'SKIP' : t.pass ? 'PASS' : 'FAIL'}  ${t.name}: ${t.detail}`;
}

export const TABLE_HEAD = [
  'peer',
  'proxies',
  'added p50 µs/hop',
  'added p99 µs/hop',
  'path p50 µs',
  'path p99 µs',
  'max req/s',
  'RSS MB/proxy',
  'CPU cores/1k rps/proxy',
  'errors',
];

export function tableRows(runs: (PeerSummary | SkippedPeer)[]): (string | number)[][] {
  const dash = (x: number | null) => (x === null || !Number.isFinite(x) ? '–' : x);
  return runs.map((r) =>
    isRun(r)
      ? [
          r.name,
          r.proxies,
          r.proxies === 0 && r.name === 'direct' ? '–' : dash(r.addedLatencyUs.p50),
          r.proxies === 0 && r.name === 'direct' ? '–' : dash(r.addedLatencyUs.p99),
          dash(r.pathLatencyUs.p50),
          dash(r.pathLatencyUs.p99),
          dash(r.maxThroughputRps),
          dash(r.rssMb),
          dash(r.cpuCoresPer1kRps),
          r.errors,
        ]
      : [r.name, '–', `skipped: ${r.skipped}`, '', '', '', '', '', '', ''],
  );
}

/** Vega-Lite: grouped bars of added p50/p99 per hop, and bars of max throughput. */
export function chartSpecs(runs: (PeerSummary | SkippedPeer)[]): { file: string; spec: object }[] {
  const measured = runs.filter(isRun);
  const latency = measured
    .filter((r) => r.name !== 'direct')
    .flatMap((r) => [
      { peer: r.name, metric: 'added p50', us: r.addedLatencyUs.p50 },
      { peer: r.name, metric: 'added p99', us: r.addedLatencyUs.p99 },
    ]);
  const order = measured.map((r) => r.name);
  return [
    {
      file: 'peers-latency.svg',
      spec: {
        $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
        title: 'Added latency per hop over direct (µs, median of rounds)',
        width: 560,
        height: 300,
        data: { values: latency },
        mark: 'bar',
        encoding: {
          x: { field: 'peer', type: 'nominal', sort: order, axis: { labelAngle: -30 }, title: null },
          xOffset: { field: 'metric' },
          y: { field: 'us', type: 'quantitative', title: 'µs per hop' },
          color: { field: 'metric', type: 'nominal', title: null },
        },
      },
    },
    {
      file: 'peers-throughput.svg',
      spec: {
        $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
        title: 'Max throughput, closed loop (req/s, median of rounds)',
        width: 560,
        height: 300,
        data: { values: measured.map((r) => ({ peer: r.name, rps: r.maxThroughputRps })) },
        mark: 'bar',
        encoding: {
          x: { field: 'peer', type: 'nominal', sort: order, axis: { labelAngle: -30 }, title: null },
          y: { field: 'rps', type: 'quantitative', title: 'req/s' },
        },
      },
    },
  ];
}
