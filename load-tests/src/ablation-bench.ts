// `npm run bench:ablation`: each knob's share of the case's gain — baseline plus one knob, and optimized minus one knob.
import { machineInfo, markdownTable, printTable, writeResults } from './lib';
import { fixRate, measure, summarizeRuns, type CaseRun, type Sample } from './case/case-runner';
import { KNOBS, withKnobs, type Knob } from './case/knobs';
import { applyConfig, loadProfile } from './case/mesh-control';
import { loadOptions, MESH_BENCH_OPTIONS, numberOption, parseOptions, stopMeshesOnSignal } from './case/bench-cli';
import { startMeshes, stopMeshes, type RunningMesh } from './case/mesh-set';

const { values } = parseOptions('bench:ablation', {
  ...MESH_BENCH_OPTIONS,
  knobs: { type: 'string' },
});

const num = (name: string, fallback: number, min: number, max: number) => numberOption('bench:ablation', values, name, fallback, min, max);

const quick = values.quick!;
const { load, fixedRate } = loadOptions('bench:ablation', values, {
  rateSeconds: quick ? 5 : 20,
  saturationSeconds: quick ? 4 : 12,
  warmupSeconds: quick ? 1 : 3,
});
const rounds = num('rounds', 1, 1, 100);
const log = (m: string) => process.stderr.write(`bench:ablation: ${m}\n`);

let knobs: Knob[] = KNOBS;
if (values.knobs) {
  const wanted = values.knobs.split(',').map((s) => s.trim());
  const unknown = wanted.filter((w) => !KNOBS.some((k) => k.name === w));
  if (unknown.length) {
    console.error(`bench:ablation: --knobs: unknown knob(s) ${unknown.join(', ')}; known: ${KNOBS.map((k) => k.name).join(', ')}`);
    process.exit(2);
  }
  knobs = KNOBS.filter((k) => wanted.includes(k.name));
}

let meshes: RunningMesh[] = [];
stopMeshesOnSignal(() => meshes);

const started = Date.now();
try {
  meshes = await startMeshes([{ key: 'ablation', mode: 'sidecar', profile: 'baseline' }], { users: quick ? 10 : 30, log });
  const m = meshes[0]!;
  const baseline = await loadProfile(m.mesh.controlPlaneUrl, 'baseline');
  const optimized = await loadProfile(m.mesh.controlPlaneUrl, 'optimized');
  const variants = [
    { name: 'baseline', config: baseline },
    ...knobs.map((k) => ({ name: `baseline + ${k.name}`, config: withKnobs(baseline, optimized, [k]) })),
    { name: 'optimized', config: optimized },
    ...knobs.map((k) => ({ name: `optimized - ${k.name}`, config: withKnobs(optimized, baseline, [k]) })),
  ];
  const target = { name: 'baseline', mesh: m.mesh, scenario: m.scenario, dataDir: m.dataDir };
  await fixRate(load, fixedRate, { target, baseline, seconds: quick ? 3 : 8, command: 'bench:ablation', log });
  const samples = new Map<string, Sample[]>(variants.map((v) => [v.name, []]));
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 ? [...variants].reverse() : variants;
    for (const [i, v] of order.entries()) {
      log(`round ${round + 1}/${rounds}, variant ${i + 1}/${variants.length}: ${v.name}`);
      await applyConfig(m.mesh, v.config, `bench:ablation ${v.name}`);
      samples.get(v.name)!.push(await measure({ name: v.name, mesh: m.mesh, scenario: m.scenario, dataDir: m.dataDir }, load, v.name));
    }
  }
  await report(
    variants.map((v) => summarizeRuns(v.name, load, samples.get(v.name)!)),
    (Date.now() - started) / 1000,
  );
} finally {
  await stopMeshes(meshes);
}

async function report(runs: CaseRun[], seconds: number): Promise<void> {
  const by = (name: string) => runs.find((r) => r.name === name)!;
  const base = by('baseline');
  const opt = by('optimized');
  const latencyGain = base.interService!.meanMs - opt.interService!.meanMs;
  const throughputGain = opt.maxThroughputRps - base.maxThroughputRps;
  // null when the two ends measured the same: there is no gain to share.
  const pct = (x: number) => (Number.isFinite(x) ? Math.round(x * 1000) / 10 : null);
  const knobsOut = knobs.map((k) => {
    const plus = by(`baseline + ${k.name}`);
    const minus = by(`optimized - ${k.name}`);
    return {
      knob: k.name,
      change: k.change,
      baselinePlus: { interServiceMeanMs: plus.interService!.meanMs, maxThroughputRps: plus.maxThroughputRps },
      optimizedMinus: { interServiceMeanMs: minus.interService!.meanMs, maxThroughputRps: minus.maxThroughputRps },
      // Share of the whole baseline → optimized gain this knob buys, added alone to baseline / removed alone from optimized.
      latencyShareAddedPct: pct((base.interService!.meanMs - plus.interService!.meanMs) / latencyGain),
      latencyShareRemovedPct: pct((minus.interService!.meanMs - opt.interService!.meanMs) / latencyGain),
      throughputShareAddedPct: pct((plus.maxThroughputRps - base.maxThroughputRps) / throughputGain),
      throughputShareRemovedPct: pct((opt.maxThroughputRps - minus.maxThroughputRps) / throughputGain),
    };
  });
  const fmt = (x: number | null, d = 2) => (x !== null && Number.isFinite(x) ? x.toFixed(d) : '—');
  const head = [
    'knob',
    'baseline + knob: mean ms',
    'max rps',
    'latency share %',
    'throughput share %',
    'optimized − knob: mean ms',
    'max rps',
    'latency share %',
    'throughput share %',
  ];
  const rows = knobsOut.map((k) => [
    k.knob,
    fmt(k.baselinePlus.interServiceMeanMs),
    k.baselinePlus.maxThroughputRps,
    fmt(k.latencyShareAddedPct, 1),
    fmt(k.throughputShareAddedPct, 1),
    fmt(k.optimizedMinus.interServiceMeanMs),
    k.optimizedMinus.maxThroughputRps,
    fmt(k.latencyShareRemovedPct, 1),
    fmt(k.throughputShareRemovedPct, 1),
  ]);
  const ends = [
    ['baseline', fmt(base.interService!.meanMs), base.maxThroughputRps, base.errors],
    ['optimized', fmt(opt.interService!.meanMs), opt.maxThroughputRps, opt.errors],
  ];
  printTable('The two ends', ['profile', 'inter-service mean ms', 'max rps', 'errors'], ends);
  printTable(
    `Each knob alone (${load.rateRps} rps for latency, ${load.concurrency} in flight for throughput; share = part of the whole gain)`,
    head,
    rows,
  );

  const machine = machineInfo();
  const command = `npm run bench:ablation --${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(' ')}` : ''}`;
  const json = {
    when: new Date().toISOString(),
    machine,
    command,
    durationS: Math.round(seconds),
    settings: { ...load, rounds },
    gain: { interServiceMeanMs: Math.round(latencyGain * 1000) / 1000, maxThroughputRps: throughputGain },
    knobs: knobsOut,
    runs,
  };
  const markdown = [
    '# The case, one knob at a time',
    '',
    `${json.when} on ${machine.cpuModel} (${machine.cpus} cores), Node ${machine.node}; \`${command}\`; ${Math.round(seconds)} s.`,
    '',
    markdownTable(['profile', 'inter-service mean ms', 'max rps', 'errors'], ends),
    '',
    markdownTable(head, rows),
    '',
    'A share is the part of the whole baseline → optimized gain one knob accounts for: added alone to baseline, or removed alone from optimized. Knobs interact (a cheaper key matters only while connections are not reused), so the two columns need not agree, nor sum to 100%.',
    '',
    '![each knob](ablation.svg)',
    '',
  ].join('\n');
  const chart = {
    $schema: 'https://vega.github.io/schema/vega-lite/v5.json',
    title: 'Share of the baseline → optimized gain, by knob (%)',
    width: 420,
    height: 220,
    data: {
      values: knobsOut.flatMap((k) => [
        { knob: k.knob, measure: 'latency, added to baseline', pct: k.latencyShareAddedPct },
        { knob: k.knob, measure: 'latency, removed from optimized', pct: k.latencyShareRemovedPct },
        { knob: k.knob, measure: 'throughput, added to baseline', pct: k.throughputShareAddedPct },
        { knob: k.knob, measure: 'throughput, removed from optimized', pct: k.throughputShareRemovedPct },
      ]),
    },
    mark: 'bar',
    encoding: {
      y: { field: 'knob', type: 'nominal', sort: knobsOut.map((k) => k.knob), title: null },
      yOffset: { field: 'measure' },
      x: { field: 'pct', type: 'quantitative', title: '% of the gain' },
      color: { field: 'measure', type: 'nominal' },
    },
  };
  const { files } = await writeResults({
    dir: values.out!,
    name: 'ablation',
    json,
    markdown,
    charts: [{ file: 'ablation.svg', spec: chart }],
    ...(values.json ? { jsonPath: values.json } : {}),
  });
  log(`wrote ${files.join(', ')}`);
}
