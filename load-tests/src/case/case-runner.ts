// One measurement of the shop on a running mesh: a fixed-rate run for latency, then a saturation run for throughput.
import type { MeshConfig } from '@meshcart/mesh-config';
import type { LocalMesh } from '@meshcart/mesh-launcher';
import { ProcessSampler, runClosedLoop, runOpenLoop, type RunResult } from '../lib';
import { applyConfig } from './mesh-control';
import { delta, figures, merge, scrapeMesh, type EdgeHistogram, type LatencyFigures } from './mesh-histograms';
import { restock, type ShopScenario } from './shop-scenario';

export interface Target {
  name: string;
  mesh: LocalMesh;
  scenario: ShopScenario;
  dataDir: string;
}

export interface LoadSettings {
  rateRps: number;
  rateSeconds: number;
  saturationSeconds: number;
  concurrency: number;
  warmupSeconds: number;
}

/** One round of one target. */
export interface Sample {
  interService: EdgeHistogram | null;
  edges: Map<string, EdgeHistogram>;
  endToEnd: RunResult;
  saturation: RunResult;
  /** CPU seconds of the mesh's proxies (sidecars and gateway) per second, during the fixed-rate run. */
  proxyCpuCores: number;
  /** The largest single proxy's peak RSS. */
  proxyMaxRssMb: number;
}

/** Client-side proxies: every sidecar (or in-process mesh) and the gateway. Their outbound histograms time each call once. */
export function adminUrls(mesh: LocalMesh): string[] {
  return [...Object.values(mesh.sidecarAdminUrls), mesh.gatewayAdminUrl];
}

function proxyPids(mesh: LocalMesh): number[] {
  return mesh.processes
    .filter((p) => p.role === 'sidecar' || p.role === 'gateway')
    .map((p) => p.proc.pid)
    .filter((p): p is number => p !== undefined);
}

export async function measure(target: Target, load: LoadSettings, label: string): Promise<Sample> {
  const { mesh, scenario } = target;
  const meshed = Object.keys(mesh.sidecarAdminUrls).length > 0;
  restock(target.dataDir);
  // Warm-up outside the measured window: pools, JIT, caches, certificates in use.
  if (load.warmupSeconds > 0)
    await runOpenLoop({
      rateRps: load.rateRps,
      durationMs: load.warmupSeconds * 1000,
      send: scenario.sender(),
      label: `${label} warm-up`,
      progress: false,
      spin: false,
    });

  const before = await scrapeMesh(adminUrls(mesh));
  const sampler = new ProcessSampler(proxyPids(mesh), 250);
  await sampler.start();
  // Timer-paced sends (no spinning): on a 2-core machine a spinning generator would take CPU from
  // the mesh being measured. Sends then leave up to ~1 ms late, which end-to-end figures include
  // (reported as generatorLagMs); inter-service figures come from the proxies and are unaffected.
  const endToEnd = await runOpenLoop({
    rateRps: load.rateRps,
    durationMs: load.rateSeconds * 1000,
    send: scenario.sender(),
    label: `${label} @${load.rateRps} rps`,
    spin: false,
  });
  const usage = await sampler.stop();
  const after = await scrapeMesh(adminUrls(mesh));
  const edges = delta(before, after);

  const saturation = await runClosedLoop({
    concurrency: load.concurrency,
    durationMs: load.saturationSeconds * 1000,
    warmupMs: Math.min(2000, load.saturationSeconds * 250),
    send: scenario.sender(),
    label: `${label} saturation ×${load.concurrency}`,
  });
  return {
    interService: meshed ? merge([...edges.values()]) : null,
    edges,
    endToEnd,
    saturation,
    proxyCpuCores: usage.cpuSeconds / endToEnd.durationS,
    proxyMaxRssMb: Math.max(0, ...usage.perPid.map((p) => p.maxRssMb)),
  };
}

/**
 * The fixed rate for latency runs when none is given: 40% of what the baseline sustains on this
 * machine, measured now. Latency is compared at a load every profile carries without queueing
 * (as production meshes run), whatever the machine's speed.
 */
async function calibrateRate(target: Target, seconds: number, concurrency: number): Promise<Calibration> {
  restock(target.dataDir);
  const r = await runClosedLoop({
    concurrency,
    durationMs: seconds * 1000,
    warmupMs: Math.min(2000, seconds * 250),
    send: target.scenario.sender(),
    label: 'calibrating on baseline',
  });
  return { rateRps: Math.max(5, Math.round(r.achievedRps * 0.4)), baselineMaxRps: Math.round(r.achievedRps) };
}

export type Calibration = { rateRps: number; baselineMaxRps: number };

/**
 * Sets `load.rateRps`: the --rate given, or 40% of what the baseline config sustains on `target`
 * (applied first through the control plane). Returns the calibration, or null for a fixed rate.
 */
export async function fixRate(
  load: LoadSettings,
  fixedRate: number | undefined,
  o: { target: Target; baseline: MeshConfig; seconds: number; command: string; log: (m: string) => void },
): Promise<Calibration | null> {
  if (fixedRate !== undefined) {
    load.rateRps = fixedRate;
    return null;
  }
  await applyConfig(o.target.mesh, o.baseline, `${o.command} calibration`);
  const c = await calibrateRate(o.target, o.seconds, load.concurrency);
  load.rateRps = c.rateRps;
  o.log(`baseline sustains ${c.baselineMaxRps} rps here; latency runs at 40% of it: ${load.rateRps} rps (--rate sets it)`);
  return c;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const round = (x: number, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;

export interface CaseRun {
  name: string;
  rateRps: number;
  rounds: number;
  interService: LatencyFigures | null;
  edges: Record<string, LatencyFigures>;
  endToEnd: { meanMs: number; p50Ms: number; p90Ms: number; p99Ms: number; generatorLagMs: number };
  maxThroughputRps: number;
  errors: number;
  errorSamples: string[];
  /** CPU of all the mesh's proxies together (sidecars and gateway), in cores per 1000 requests/s at the gateway. */
  proxyCpuCoresPer1kRps: number | null;
  /** Peak RSS of the largest single proxy. */
  proxyMaxRssMb: number | null;
  /** Each round on its own, in the order run: how far one round's figures are from another's. */
  perRound: RoundFigures[];
}

export interface RoundFigures {
  /** Null with the mesh off (no proxy between services). */
  interServiceMeanMs: number | null;
  endToEndMeanMs: number;
  maxThroughputRps: number;
}

/**
 * Rounds → one row: mesh histograms are summed over the rounds (every call counts once); end-to-end
 * figures and throughput are the median round, which shrugs off one round disturbed by the machine.
 */
export function summarizeRuns(name: string, load: LoadSettings, samples: Sample[]): CaseRun {
  const meshed = samples.every((s) => s.interService !== null);
  const edgeNames = [...new Set(samples.flatMap((s) => [...s.edges.keys()]))].sort();
  const errorSamples = [...new Set(samples.flatMap((s) => [...s.endToEnd.errorSamples, ...s.saturation.errorSamples]))].slice(0, 5);
  return {
    name,
    rateRps: load.rateRps,
    rounds: samples.length,
    interService: meshed ? figures(merge(samples.map((s) => s.interService!))) : null,
    edges: Object.fromEntries(edgeNames.map((e) => [e, figures(merge(samples.flatMap((s) => (s.edges.get(e) ? [s.edges.get(e)!] : []))))])),
    endToEnd: {
      meanMs: round(median(samples.map((s) => s.endToEnd.meanUs)) / 1000),
      p50Ms: round(median(samples.map((s) => s.endToEnd.p50Us)) / 1000),
      p90Ms: round(median(samples.map((s) => s.endToEnd.p90Us)) / 1000),
      p99Ms: round(median(samples.map((s) => s.endToEnd.p99Us)) / 1000),
      // How late the generator itself sent (median p50): part of every end-to-end figure above.
      generatorLagMs: round(median(samples.map((s) => s.endToEnd.sendLag?.p50Us ?? 0)) / 1000),
    },
    maxThroughputRps: Math.round(median(samples.map((s) => s.saturation.achievedRps))),
    errors: samples.reduce((n, s) => n + s.endToEnd.errors + s.saturation.errors, 0),
    errorSamples,
    proxyCpuCoresPer1kRps: meshed ? round(median(samples.map((s) => s.proxyCpuCores / (load.rateRps / 1000)))) : null,
    proxyMaxRssMb: meshed ? round(Math.max(...samples.map((s) => s.proxyMaxRssMb)), 1) : null,
    perRound: samples.map((s) => ({
      interServiceMeanMs: s.interService && s.interService.count > 0 ? round((s.interService.sum / s.interService.count) * 1000) : null,
      endToEndMeanMs: round(s.endToEnd.meanUs / 1000),
      maxThroughputRps: Math.round(s.saturation.achievedRps),
    })),
  };
}
