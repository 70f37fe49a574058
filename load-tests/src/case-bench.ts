// `npm run bench:case`: the case in one run — mesh off, baseline, optimized, optimized proxyless — interleaved and repeated.
import { machineInfo, markdownTable, printTable, writeResults } from './lib';
import { fixRate, measure, summarizeRuns, type CaseRun, type Sample } from './case/case-runner';
import { applyConfig, loadProfile } from './case/mesh-control';
import { loadOptions, MESH_BENCH_OPTIONS, numberOption, parseOptions, stopMeshesOnSignal } from './case/bench-cli';
import { startMeshes, stopMeshes, type RunningMesh } from './case/mesh-set';

const { values } = parseOptions('bench:case', {
  ...MESH_BENCH_OPTIONS,
  users: { type: 'string' },
});

const num = (name: string, fallback: number, min: number, max: number) => numberOption('bench:case', values, name, fallback, min, max);

const quick = values.quick!;
const { load, fixedRate } = loadOptions('bench:case', values, {
  rateSeconds: quick ? 8 : 30,
  saturationSeconds: quick ? 6 : 20,
  warmupSeconds: quick ? 2 : 5,
});
const rounds = num('rounds', quick ? 1 : 3, 1, 100);
const users = num('users', quick ? 10 : 50, 1, 10_000);
const log = (m: string) => process.stderr.write(`bench:case: ${m}\n`);

// "baseline" and "optimized" share one sidecar mesh, switched live through the control plane (as
// `meshctl profile use` does): same processes, same ports, same data, only the config differs.
const RUNS = [
  { name: 'off', mesh: 'off' },
  { name: 'baseline', mesh: 'sidecar', profile: 'baseline' },
  { name: 'optimized', mesh: 'sidecar', profile: 'optimized' },
  { name: 'optimized-proxyless', mesh: 'proxyless' },
] as const;

let meshes: RunningMesh[] = [];
let calibrated: { rateRps: number; baselineMaxRps: number } | null = null;
stopMeshesOnSignal(() => meshes);

const started = Date.now();
try {
  meshes = await startMeshes(
    [
      { key: 'off', mode: 'off', profile: 'optimized' },
      { key: 'sidecar', mode: 'sidecar', profile: 'baseline' },
      { key: 'proxyless', mode: 'proxyless', profile: 'optimized' },
    ],
    { users, log },
  );
  const byKey = new Map(meshes.map((m) => [m.spec.key, m]));
  const sidecar = byKey.get('sidecar')!;
  const profiles = {
    baseline: await loadProfile(sidecar.mesh.controlPlaneUrl, 'baseline'),
    optimized: await loadProfile(sidecar.mesh.controlPlaneUrl, 'optimized'),
  };

  const target = { name: 'baseline', mesh: sidecar.mesh, scenario: sidecar.scenario, dataDir: sidecar.dataDir };
  calibrated = await fixRate(load, fixedRate, { target, baseline: profiles.baseline, seconds: quick ? 3 : 8, command: 'bench:case', log });

  const samples = new Map<string, Sample[]>(RUNS.map((r) => [r.name, []]));
  for (let round = 0; round < rounds; round++) {
    // Each round starts at a different run, so drift (a warming machine, a growing database) spreads evenly.
    const order = RUNS.map((_, i) => RUNS[(i + round) % RUNS.length]!);
    for (const run of order) {
      const m = byKey.get(run.mesh)!;
      if ('profile' in run) await applyConfig(m.mesh, profiles[run.profile], `bench:case ${run.profile}`);
      log(`round ${round + 1}/${rounds}: ${run.name}`);
      samples
        .get(run.name)!
        .push(await measure({ name: run.name, mesh: m.mesh, scenario: m.scenario, dataDir: m.dataDir }, load, `${run.name} r${round + 1}`));
    }
  }
  const runs = RUNS.map((r) => summarizeRuns(r.name, load, samples.get(r.name)!));
  await report(runs, (Date.now() - started) / 1000);
} finally {
  await stopMeshes(meshes);
}

async function report(runs: CaseRun[], seconds: number): Promise<void> {
  const by = (name: string) => runs.find((r) => r.name === name)!;
  const base = by('baseline');
  const opt = by('optimized');
  const latencyRatio = opt.interService!.meanMs / base.interService!.meanMs;
  const throughputRatio = opt.maxThroughputRps / base.maxThroughputRps;
  const fmt = (x: number | null | undefined, d = 2) => (x === null || x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(d));
  const head = [
    'run',
    'inter-service mean ms',
    'p50',
    'p90',
    'p99',
    'calls',
    'end-to-end mean ms',
    'p50',
    'p99',
    'max rps',
    'errors',
    'proxy CPU cores / 1k rps',
  ];
  const rows = runs.map((r) => [
    r.name,
    fmt(r.interService?.meanMs),
    fmt(r.interService?.p50Ms),
    fmt(r.interService?.p90Ms),
    fmt(r.interService?.p99Ms),
    r.interService?.count ?? '—',
    fmt(r.endToEnd.meanMs),
    fmt(r.endToEnd.p50Ms),
    fmt(r.endToEnd.p99Ms),
    r.maxThroughputRps,
    r.errors,
    fmt(r.proxyCpuCoresPer1kRps),
  ]);
  printTable(`The case: ${load.rateRps} rps for latency, ${load.concurrency} in flight for throughput, ${rounds} round(s)`, head, rows);
  const edgeHead = ['edge', ...runs.map((r) => `${r.name} mean / p99 ms`)];
  const edgeNames = [...new Set(runs.flatMap((r) => Object.keys(r.edges)))].sort();
  const edgeRows = edgeNames.map((e) => [e, ...runs.map((r) => (r.edges[e] ? `${fmt(r.edges[e].meanMs)} / ${fmt(r.edges[e].p99Ms)}` : '—'))]);
  printTable('Per edge (caller-side proxy histograms; with the mesh off only the gateway is a proxy)', edgeHead, edgeRows);

  // Baseline and optimized of one round ran minutes apart at most: a paired comparison, which
  // shows how much of a run's ratio is the machine's mood in one round.
  const r3 = (x: number) => Math.round(x * 1000) / 1000;
  const proxyless = by('optimized-proxyless');
  const roundRatios = base.perRound.map((b, i) => r3(opt.perRound[i]!.interServiceMeanMs! / b.interServiceMeanMs!));
  const roundHead = [
    'round',
    'baseline mean ms',
    'optimized mean ms',
    'optimized / baseline',
    'proxyless mean ms',
    'baseline max rps',
    'optimized max rps',
  ];
  const roundRows = base.perRound.map((b, i) => [
    i + 1,
    fmt(b.interServiceMeanMs),
    fmt(opt.perRound[i]!.interServiceMeanMs),
    `×${fmt(roundRatios[i])}`,
    fmt(proxyless.perRound[i]!.interServiceMeanMs),
    b.maxThroughputRps,
    opt.perRound[i]!.maxThroughputRps,
  ]);
  printTable('Round by round (inter-service mean of each round alone)', roundHead, roundRows);
  const roundsMet = roundRatios.filter((x) => x <= 0.4).length;

  const targets = {
    latencyRatio: r3(latencyRatio),
    latencyRatioByRound: roundRatios,
    latencyTarget: 0.4,
    latencyMet: latencyRatio <= 0.4,
    throughputRatio: r3(throughputRatio),
    throughputTarget: 1.3,
    throughputMet: throughputRatio >= 1.3,
  };
  console.log(
    `optimized vs baseline: inter-service mean ${fmt(base.interService!.meanMs)} → ${fmt(opt.interService!.meanMs)} ms (×${fmt(latencyRatio)}; target ≤ 0.40: ${targets.latencyMet ? 'met' : 'MISSED'}; rounds alone: ${roundRatios.map((x) => `×${fmt(x)}`).join(' ')})`,
  );
  console.log(
    `optimized vs baseline: max throughput ${base.maxThroughputRps} → ${opt.maxThroughputRps} rps (×${fmt(throughputRatio)}; target ≥ 1.30: ${targets.throughputMet ? 'met' : 'MISSED'})`,
  );

  const machine = machineInfo();
  const command = `npm run bench:case --${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(' ')}` : ''}`;
  const json = {
    when: new Date().toISOString(),
    machine,
    command,
    durationS: Math.round(seconds),
    settings: { ...load, rounds, users, calibration: calibrated },
    targets,
    runs,
  };
  const markdown = [
    `# The case, measured`,
    '',
    `${json.when} on ${machine.cpuModel} (${machine.cpus} cores, ${machine.memoryGb} GB), Node ${machine.node}; \`${command}\`; ${Math.round(seconds)} s.`,
    '',
    markdownTable(head, rows),
    '',
    markdownTable(edgeHead, edgeRows),
    '',
    markdownTable(roundHead, roundRows),
    '',
    `Inter-service mean, optimized / baseline: **×${fmt(latencyRatio)}** (target ≤ 0.40; ${roundsMet} of ${roundRatios.length} rounds alone meet it). Max throughput, optimized / baseline: **×${fmt(throughputRatio)}** (target ≥ 1.30).`,
    '',
    '![inter-service latency](case-latency.svg)',
    '',
    '![max throughput](case-throughput.svg)',
    '',
  ].join('\n');
  const meshRuns = runs.filter((r) => r.interService);
  const latencyChart = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: `Inter-service latency (ms) at ${load.rateRps} rps`,
    width: 360,
    height: 200,
    data: {
      values: meshRuns.flatMap((r) => [
        { run: r.name, stat: 'mean', ms: r.interService!.meanMs },
        { run: r.name, stat: 'p50', ms: r.interService!.p50Ms },
        { run: r.name, stat: 'p99', ms: r.interService!.p99Ms },
      ]),
    },
    mark: 'bar',
    encoding: {
      x: { field: 'run', type: 'nominal', sort: meshRuns.map((r) => r.name), title: null },
      xOffset: { field: 'stat' },
      y: { field: 'ms', type: 'quantitative', title: 'ms' },
      color: { field: 'stat', type: 'nominal', sort: ['mean', 'p50', 'p99'] },
    },
  };
  const throughputChart = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: `Max throughput through the gateway (req/s, ${load.concurrency} in flight)`,
    width: 360,
    height: 200,
    data: { values: runs.map((r) => ({ run: r.name, rps: r.maxThroughputRps })) },
    mark: 'bar',
    encoding: {
      x: { field: 'run', type: 'nominal', sort: runs.map((r) => r.name), title: null },
      y: { field: 'rps', type: 'quantitative', title: 'req/s' },
    },
  };
  const { files } = await writeResults({
    dir: values.out!,
    name: 'case',
    json,
    markdown,
    charts: [
      { file: 'case-latency.svg', spec: latencyChart },
      { file: 'case-throughput.svg', spec: throughputChart },
    ],
    ...(values.json ? { jsonPath: values.json } : {}),
  });
  log(`wrote ${files.join(', ')}`);
}
